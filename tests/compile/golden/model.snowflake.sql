WITH keys AS (
  SELECT DISTINCT
    "type",
    "url",
    "form",
    "email_id"
  FROM events
), keymap AS (
  SELECT DISTINCT
    COALESCE("k"."type", '') AS k_0,
    COALESCE("k"."url", '') AS k_1,
    COALESCE("k"."form", '') AS k_2,
    COALESCE("k"."email_id", '') AS k_3,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('page_view')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(TRIM("k"."url", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          AND COALESCE(
            (
              LEFT(
                LOWER(NULLIF(TRIM("k"."url", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')),
                8
              ) = '/pricing'
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(10.0 AS DOUBLE)
    END AS p12,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('page_view')
        ),
        FALSE
      )
      THEN CAST(1.0 AS DOUBLE) * (
        CASE
          WHEN NULLIF(TRIM("k"."url", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          THEN CAST(1.0 AS DOUBLE)
          WHEN LOWER(NULLIF(TRIM("k"."url", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')) LIKE '/pricing%'
          THEN CAST(2.0 AS DOUBLE)
          WHEN LOWER(NULLIF(TRIM("k"."url", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')) LIKE '/demo%'
          THEN CAST(2.0 AS DOUBLE)
          WHEN LOWER(NULLIF(TRIM("k"."url", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')) LIKE '/careers%'
          THEN CAST(0.2 AS DOUBLE)
          ELSE CAST(1.0 AS DOUBLE)
        END
      )
    END AS p13,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('form_submit')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(TRIM("k"."form", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(NULLIF(TRIM("k"."form", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')) IN ('demo')
                ),
                FALSE
              )
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(40.0 AS DOUBLE)
    END AS p14,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('event_attended')
        ),
        FALSE
      )
      THEN CAST(50.0 AS DOUBLE)
    END AS p15,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('webinar_attended')
        ),
        FALSE
      )
      THEN CAST(30.0 AS DOUBLE)
    END AS p16,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('content_download')
        ),
        FALSE
      )
      THEN CAST(10.0 AS DOUBLE)
    END AS p17,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('email_click')
        ),
        FALSE
      )
      THEN CAST(3.0 AS DOUBLE)
    END AS p18,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('email_click')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(TRIM("k"."email_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          AND COALESCE(
            (
              LEFT(
                LOWER(
                  NULLIF(TRIM("k"."email_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
                ),
                5
              ) = 'demo-'
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(10.0 AS DOUBLE)
    END AS p19,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('social_share', 'social_follow')
        ),
        FALSE
      )
      THEN CAST(5.0 AS DOUBLE)
    END AS p20,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('page_view')
        ),
        FALSE
      )
      THEN CAST(0.0 AS DOUBLE)
    END AS p21,
    CAST(0.0 AS DOUBLE) AS p22
  FROM keys AS k
), ev AS (
  SELECT
    *,
    (
      CAST(DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) AS age
  FROM (
    SELECT
      NULLIF(TRIM("e"."contact_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS cid,
      DATE_PART(EPOCH_MICROSECOND, "e"."timestamp") AS ts_us,
      m.p12 AS p12,
      m.p13 AS p13,
      m.p14 AS p14,
      m.p15 AS p15,
      m.p16 AS p16,
      m.p18 AS p18,
      m.p19 AS p19,
      m.p20 AS p20,
      m.p21 AS p21,
      m.p22 AS p22
    FROM events AS e
    JOIN keymap AS m
      ON COALESCE("e"."type", '') = m.k_0
      AND COALESCE("e"."url", '') = m.k_1
      AND COALESCE("e"."form", '') = m.k_2
      AND COALESCE("e"."email_id", '') = m.k_3
  ) AS e2
  WHERE
    e2.ts_us <= DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP())
), wide AS (
  SELECT
    cid,
    SUM(
      CASE
        WHEN NOT p12 IS NULL
        THEN p12 * POWER(CAST(0.5 AS DOUBLE), age / CAST(30.0 AS DOUBLE))
      END
    ) AS t12,
    SUM(
      CASE
        WHEN NOT p13 IS NULL
        THEN p13 * POWER(CAST(0.5 AS DOUBLE), age / CAST(14.0 AS DOUBLE))
      END
    ) AS t13,
    MIN(CASE WHEN NOT p14 IS NULL THEN ts_us END) AS f14,
    SUM(
      CASE
        WHEN NOT p15 IS NULL
        THEN p15 * GREATEST(CAST(0.0 AS DOUBLE), CAST(1.0 AS DOUBLE) - age / CAST(180.0 AS DOUBLE))
      END
    ) AS t15,
    SUM(
      CASE
        WHEN NOT p16 IS NULL
        THEN p16 * POWER(CAST(0.5 AS DOUBLE), age / CAST(60.0 AS DOUBLE))
      END
    ) AS t16,
    SUM(CASE WHEN NOT p18 IS NULL AND age <= CAST(90.0 AS DOUBLE) THEN p18 END) AS t18,
    SUM(p19) AS t19,
    SUM(p20) AS t20,
    COUNT(CASE WHEN NOT p21 IS NULL AND age <= CAST(30.0 AS DOUBLE) THEN 1 END) AS n21,
    COUNT(CASE WHEN NOT p22 IS NULL AND age <= CAST(30.0 AS DOUBLE) THEN 1 END) AS n22
  FROM ev
  GROUP BY
    cid
), evs AS (
  SELECT
    *,
    (
      CAST(DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) AS age
  FROM (
    SELECT
      NULLIF(TRIM("e"."contact_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS cid,
      DATE_PART(EPOCH_MICROSECOND, "e"."timestamp") AS ts_us,
      m.p12 AS p12,
      m.p13 AS p13,
      m.p14 AS p14,
      m.p15 AS p15,
      m.p16 AS p16,
      m.p18 AS p18,
      m.p19 AS p19,
      m.p20 AS p20,
      m.p21 AS p21,
      m.p22 AS p22
    FROM events AS e
    JOIN keymap AS m
      ON COALESCE("e"."type", '') = m.k_0
      AND COALESCE("e"."url", '') = m.k_1
      AND COALESCE("e"."form", '') = m.k_2
      AND COALESCE("e"."email_id", '') = m.k_3
  ) AS e2
  WHERE
    e2.ts_us <= DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP())
    AND e2.ts_us >= DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) - CAST(604801000000 AS BIGINT)
), surge AS (
  SELECT
    cid,
    SUM(
      CASE
        WHEN NOT p12 IS NULL AND age <= CAST(7.0 AS DOUBLE)
        THEN p12 * POWER(CAST(0.5 AS DOUBLE), age / CAST(30.0 AS DOUBLE))
      END
    ) AS s12,
    SUM(
      CASE
        WHEN NOT p13 IS NULL AND age <= CAST(7.0 AS DOUBLE)
        THEN p13 * POWER(CAST(0.5 AS DOUBLE), age / CAST(14.0 AS DOUBLE))
      END
    ) AS s13,
    SUM(
      CASE
        WHEN NOT p15 IS NULL AND age <= CAST(7.0 AS DOUBLE)
        THEN p15 * GREATEST(CAST(0.0 AS DOUBLE), CAST(1.0 AS DOUBLE) - age / CAST(180.0 AS DOUBLE))
      END
    ) AS s15,
    SUM(
      CASE
        WHEN NOT p16 IS NULL AND age <= CAST(7.0 AS DOUBLE)
        THEN p16 * POWER(CAST(0.5 AS DOUBLE), age / CAST(60.0 AS DOUBLE))
      END
    ) AS s16,
    SUM(
      CASE
        WHEN (
          NOT p18 IS NULL AND age <= CAST(90.0 AS DOUBLE)
        )
        AND age <= CAST(7.0 AS DOUBLE)
        THEN p18
      END
    ) AS s18,
    SUM(CASE WHEN NOT p19 IS NULL AND age <= CAST(7.0 AS DOUBLE) THEN p19 END) AS s19,
    SUM(CASE WHEN NOT p20 IS NULL AND age <= CAST(7.0 AS DOUBLE) THEN p20 END) AS s20
  FROM evs
  GROUP BY
    cid
), keymap_r AS (
  SELECT
    *
  FROM keymap
  WHERE
    NOT p17 IS NULL
), rev AS (
  SELECT
    *,
    (
      CAST(DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) AS age
  FROM (
    SELECT
      NULLIF(TRIM("e"."contact_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS cid,
      DATE_PART(EPOCH_MICROSECOND, "e"."timestamp") AS ts_us,
      NULLIF(TRIM("e"."event_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS eid,
      m.p17 AS p17
    FROM events AS e
    JOIN keymap_r AS m
      ON COALESCE("e"."type", '') = m.k_0
      AND COALESCE("e"."url", '') = m.k_1
      AND COALESCE("e"."form", '') = m.k_2
      AND COALESCE("e"."email_id", '') = m.k_3
  ) AS e2
  WHERE
    e2.ts_us <= DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP())
), r_hits AS (
  SELECT
    cid,
    ts_us,
    17 AS slot,
    age,
    p17 * POWER(CAST(0.5 AS DOUBLE), age / CAST(60.0 AS DOUBLE)) AS pts,
    TRUE AS in_win,
    eid
  FROM rev
  WHERE
    NOT p17 IS NULL
), r_ranked AS (
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    eid,
    ROW_NUMBER() OVER (
      PARTITION BY cid, slot, in_win
      ORDER BY ts_us DESC NULLS LAST, eid DESC NULLS LAST
    ) AS rn
  FROM r_hits
  WHERE
    slot IN (17)
), r_kept AS (
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    eid,
    in_win AS kept
  FROM r_hits
  WHERE
    NOT slot IN (17)
  UNION ALL
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    eid,
    CASE WHEN slot = 17 THEN in_win AND rn <= 3 ELSE FALSE END AS kept
  FROM r_ranked
), r_agg AS (
  SELECT
    cid,
    slot,
    SUM(CASE WHEN kept THEN pts END) AS total,
    SUM(CASE WHEN kept THEN 1 ELSE 0 END) AS n_kept,
    SUM(CASE WHEN in_win THEN 1 ELSE 0 END) AS n_win,
    SUM(CASE WHEN kept AND age <= CAST(7.0 AS DOUBLE) THEN pts END) AS surge_total
  FROM r_kept
  GROUP BY
    cid,
    slot
), r_rv AS (
  SELECT
    cid,
    slot,
    n_win,
    CASE
      WHEN slot = 17
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
    END AS value,
    CASE
      WHEN slot = 17 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
    END AS surge_value
  FROM r_agg
), r_pc AS (
  SELECT
    cid,
    MAX(CASE WHEN slot = 17 THEN value END) AS r17,
    SUM(surge_value) AS surge_points
  FROM r_rv
  GROUP BY
    cid
), pc AS (
  SELECT
    w.cid,
    CASE
      WHEN NOT w.t12 IS NULL
      AND GREATEST(
        CAST(-30.0 AS DOUBLE),
        LEAST(CAST(30.0 AS DOUBLE), COALESCE(w.t12, CAST(0.0 AS DOUBLE)))
      ) <> CAST(0.0 AS DOUBLE)
      THEN GREATEST(
        CAST(-30.0 AS DOUBLE),
        LEAST(CAST(30.0 AS DOUBLE), COALESCE(w.t12, CAST(0.0 AS DOUBLE)))
      )
    END AS r12,
    CASE
      WHEN NOT w.t13 IS NULL
      AND GREATEST(
        CAST(-20.0 AS DOUBLE),
        LEAST(CAST(20.0 AS DOUBLE), COALESCE(w.t13, CAST(0.0 AS DOUBLE)))
      ) <> CAST(0.0 AS DOUBLE)
      THEN GREATEST(
        CAST(-20.0 AS DOUBLE),
        LEAST(CAST(20.0 AS DOUBLE), COALESCE(w.t13, CAST(0.0 AS DOUBLE)))
      )
    END AS r13,
    CASE
      WHEN NOT w.f14 IS NULL AND CAST(40.0 AS DOUBLE) <> CAST(0.0 AS DOUBLE)
      THEN CAST(40.0 AS DOUBLE)
    END AS r14,
    CASE
      WHEN NOT w.t15 IS NULL AND COALESCE(w.t15, CAST(0.0 AS DOUBLE)) <> CAST(0.0 AS DOUBLE)
      THEN COALESCE(w.t15, CAST(0.0 AS DOUBLE))
    END AS r15,
    CASE
      WHEN NOT w.t16 IS NULL AND COALESCE(w.t16, CAST(0.0 AS DOUBLE)) <> CAST(0.0 AS DOUBLE)
      THEN COALESCE(w.t16, CAST(0.0 AS DOUBLE))
    END AS r16,
    r.r17 AS r17,
    CASE
      WHEN NOT w.t18 IS NULL
      AND GREATEST(
        CAST(-15.0 AS DOUBLE),
        LEAST(CAST(15.0 AS DOUBLE), COALESCE(w.t18, CAST(0.0 AS DOUBLE)))
      ) <> CAST(0.0 AS DOUBLE)
      THEN GREATEST(
        CAST(-15.0 AS DOUBLE),
        LEAST(CAST(15.0 AS DOUBLE), COALESCE(w.t18, CAST(0.0 AS DOUBLE)))
      )
    END AS r18,
    CASE
      WHEN NOT w.t19 IS NULL
      AND GREATEST(
        CAST(-20.0 AS DOUBLE),
        LEAST(CAST(20.0 AS DOUBLE), COALESCE(w.t19, CAST(0.0 AS DOUBLE)))
      ) <> CAST(0.0 AS DOUBLE)
      THEN GREATEST(
        CAST(-20.0 AS DOUBLE),
        LEAST(CAST(20.0 AS DOUBLE), COALESCE(w.t19, CAST(0.0 AS DOUBLE)))
      )
    END AS r19,
    CASE
      WHEN NOT w.t20 IS NULL
      AND GREATEST(
        CAST(-15.0 AS DOUBLE),
        LEAST(CAST(15.0 AS DOUBLE), COALESCE(w.t20, CAST(0.0 AS DOUBLE)))
      ) <> CAST(0.0 AS DOUBLE)
      THEN GREATEST(
        CAST(-15.0 AS DOUBLE),
        LEAST(CAST(15.0 AS DOUBLE), COALESCE(w.t20, CAST(0.0 AS DOUBLE)))
      )
    END AS r20,
    CASE
      WHEN w.n21 >= 30
      THEN CAST(25.0 AS DOUBLE)
      WHEN w.n21 >= 10
      THEN CAST(15.0 AS DOUBLE)
      WHEN w.n21 >= 3
      THEN CAST(5.0 AS DOUBLE)
    END AS r21,
    w.n22 AS w22,
    COALESCE(
      CASE
        WHEN NOT w.t12 IS NULL
        THEN GREATEST(
          CAST(-30.0 AS DOUBLE),
          LEAST(CAST(30.0 AS DOUBLE), COALESCE(sg.s12, CAST(0.0 AS DOUBLE)))
        )
      END,
      CAST(0.0 AS DOUBLE)
    ) + COALESCE(
      CASE
        WHEN NOT w.t13 IS NULL
        THEN GREATEST(
          CAST(-20.0 AS DOUBLE),
          LEAST(CAST(20.0 AS DOUBLE), COALESCE(sg.s13, CAST(0.0 AS DOUBLE)))
        )
      END,
      CAST(0.0 AS DOUBLE)
    ) + COALESCE(
      CASE
        WHEN NOT w.f14 IS NULL
        THEN CASE
          WHEN (
            CAST(DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(w.f14 AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
          ) / CAST(86400.0 AS DOUBLE) <= CAST(7.0 AS DOUBLE)
          THEN CAST(40.0 AS DOUBLE)
          ELSE CAST(0.0 AS DOUBLE)
        END
      END,
      CAST(0.0 AS DOUBLE)
    ) + COALESCE(
      CASE WHEN NOT w.t15 IS NULL THEN COALESCE(sg.s15, CAST(0.0 AS DOUBLE)) END,
      CAST(0.0 AS DOUBLE)
    ) + COALESCE(
      CASE WHEN NOT w.t16 IS NULL THEN COALESCE(sg.s16, CAST(0.0 AS DOUBLE)) END,
      CAST(0.0 AS DOUBLE)
    ) + COALESCE(
      CASE
        WHEN NOT w.t18 IS NULL
        THEN GREATEST(
          CAST(-15.0 AS DOUBLE),
          LEAST(CAST(15.0 AS DOUBLE), COALESCE(sg.s18, CAST(0.0 AS DOUBLE)))
        )
      END,
      CAST(0.0 AS DOUBLE)
    ) + COALESCE(
      CASE
        WHEN NOT w.t19 IS NULL
        THEN GREATEST(
          CAST(-20.0 AS DOUBLE),
          LEAST(CAST(20.0 AS DOUBLE), COALESCE(sg.s19, CAST(0.0 AS DOUBLE)))
        )
      END,
      CAST(0.0 AS DOUBLE)
    ) + COALESCE(
      CASE
        WHEN NOT w.t20 IS NULL
        THEN GREATEST(
          CAST(-15.0 AS DOUBLE),
          LEAST(CAST(15.0 AS DOUBLE), COALESCE(sg.s20, CAST(0.0 AS DOUBLE)))
        )
      END,
      CAST(0.0 AS DOUBLE)
    ) + COALESCE(r.surge_points, CAST(0.0 AS DOUBLE)) AS surge_points
  FROM wide AS w
  LEFT JOIN surge AS sg
    ON sg.cid = w.cid
  LEFT JOIN r_pc AS r
    ON r.cid = w.cid
), base AS (
  SELECT
    NULLIF(TRIM("c"."contact_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS contact_id,
    0 AS row_no,
    CASE
      WHEN COALESCE(
        (
          NOT NULLIF(TRIM("c"."job_title", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          AND COALESCE(
            (
              REGEXP_INSTR(
                NULLIF(TRIM("c"."job_title", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), ''),
                '\\b(vp|director|head|chief)\\b',
                1,
                1,
                0,
                'i'
              ) > 0
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(15.0 AS DOUBLE)
    END AS r0,
    CASE
      WHEN COALESCE(
        (
          NOT NULLIF(TRIM("c"."industry", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(
                    NULLIF(TRIM("c"."industry", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
                  ) IN ('fintech', 'saas', 'software')
                ),
                FALSE
              )
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(20.0 AS DOUBLE)
    END AS r1,
    CASE
      WHEN COALESCE(
        (
          COALESCE(
            (
              CASE
                WHEN REGEXP_INSTR(
                  NULLIF(TRIM("c"."employees", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), ''),
                  '^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$',
                  1,
                  1,
                  0,
                  'c'
                ) > 0
                THEN CAST(NULLIF(TRIM("c"."employees", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS DOUBLE)
                ELSE CAST(NULL AS DOUBLE)
              END >= CAST(50.0 AS DOUBLE)
              AND CASE
                WHEN REGEXP_INSTR(
                  NULLIF(TRIM("c"."employees", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), ''),
                  '^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$',
                  1,
                  1,
                  0,
                  'c'
                ) > 0
                THEN CAST(NULLIF(TRIM("c"."employees", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS DOUBLE)
                ELSE CAST(NULL AS DOUBLE)
              END <= CAST(5000.0 AS DOUBLE)
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(15.0 AS DOUBLE)
    END AS r2,
    CASE
      WHEN COALESCE(
        (
          COALESCE(
            (
              CASE
                WHEN LOWER(
                  NULLIF(
                    TRIM("c"."budget_confirmed", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'),
                    ''
                  )
                ) IN ('1', '1.0', 't', 'true', 'y', 'yes')
                THEN TRUE
                WHEN LOWER(
                  NULLIF(
                    TRIM("c"."budget_confirmed", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'),
                    ''
                  )
                ) IN ('0', '0.0', 'f', 'false', 'n', 'no')
                THEN FALSE
                ELSE CAST(NULL AS BOOLEAN)
              END = TRUE
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(10.0 AS DOUBLE)
    END AS r3,
    CASE
      WHEN COALESCE(
        (
          NOT NULLIF(TRIM("c"."authority", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(
                    NULLIF(TRIM("c"."authority", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
                  ) IN ('decision maker')
                ),
                FALSE
              )
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(10.0 AS DOUBLE)
    END AS r4,
    CASE
      WHEN COALESCE(
        (
          NOT NULLIF(TRIM("c"."phone", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
        ),
        FALSE
      )
      THEN CAST(5.0 AS DOUBLE)
    END AS r5,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("c"."country", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          OR NOT COALESCE(
            (
              COALESCE(
                (
                  LOWER(
                    NULLIF(TRIM("c"."country", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
                  ) IN ('ca', 'gb', 'us')
                ),
                FALSE
              )
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(-20.0 AS DOUBLE)
    END AS r6,
    CASE
      WHEN COALESCE((
        COALESCE(q_email.free_email, FALSE)
      ), FALSE)
      THEN CAST(-10.0 AS DOUBLE)
    END AS r7,
    CASE
      WHEN COALESCE((
        COALESCE(q_email.disposable_email, FALSE)
      ), FALSE)
      THEN CAST(-30.0 AS DOUBLE)
    END AS r8,
    CASE
      WHEN COALESCE((
        COALESCE(q_phone.invalid_phone, FALSE)
      ), FALSE)
      THEN CAST(-5.0 AS DOUBLE)
    END AS r9,
    CASE
      WHEN COALESCE(
        (
          (
            COALESCE(q_first_name.keyboard_walk, FALSE)
            OR COALESCE(q_last_name.keyboard_walk, FALSE)
            OR COALESCE(q_company.keyboard_walk, FALSE)
            OR COALESCE(q_email.keyboard_walk, FALSE)
          )
          OR (
            COALESCE(q_first_name.not_capitalised, FALSE)
            OR COALESCE(q_last_name.not_capitalised, FALSE)
            OR COALESCE(q_company.not_capitalised, FALSE)
          )
        ),
        FALSE
      )
      THEN CAST(-15.0 AS DOUBLE)
    END AS r10,
    CASE
      WHEN COALESCE(
        (
          NOT NULLIF(TRIM("c"."job_title", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IS NULL
          AND COALESCE(
            (
              REGEXP_INSTR(
                NULLIF(TRIM("c"."job_title", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), ''),
                'student|intern',
                1,
                1,
                0,
                'i'
              ) > 0
            ),
            FALSE
          )
        ),
        FALSE
      )
      THEN CAST(-25.0 AS DOUBLE)
    END AS r11,
    pc.r12 AS r12,
    pc.r13 AS r13,
    pc.r14 AS r14,
    pc.r15 AS r15,
    pc.r16 AS r16,
    pc.r17 AS r17,
    pc.r18 AS r18,
    pc.r19 AS r19,
    pc.r20 AS r20,
    pc.r21 AS r21,
    CASE
      WHEN NOT COALESCE(pc.w22, CAST(0.0 AS DOUBLE)) > 0
      THEN CAST(-30.0 AS DOUBLE)
    END AS r22,
    COALESCE(pc.surge_points, CAST(0.0 AS DOUBLE)) AS surge_points
  FROM contacts AS c
  LEFT JOIN pc AS pc
    ON pc.cid = NULLIF(TRIM("c"."contact_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
  LEFT JOIN leadscore_quality AS q_company
    ON q_company.field = 'company'
    AND q_company.value = NULLIF(TRIM("c"."company", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
  LEFT JOIN leadscore_quality AS q_email
    ON q_email.field = 'email'
    AND q_email.value = NULLIF(TRIM("c"."email", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
  LEFT JOIN leadscore_quality AS q_first_name
    ON q_first_name.field = 'first_name'
    AND q_first_name.value = NULLIF(TRIM("c"."first_name", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
  LEFT JOIN leadscore_quality AS q_last_name
    ON q_last_name.field = 'last_name'
    AND q_last_name.value = NULLIF(TRIM("c"."last_name", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
  LEFT JOIN leadscore_quality AS q_phone
    ON q_phone.field = 'phone'
    AND q_phone.value = NULLIF(TRIM("c"."phone", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
), scored AS (
  SELECT
    *,
    (
      COALESCE(r0, CAST(0.0 AS DOUBLE)) + COALESCE(r1, CAST(0.0 AS DOUBLE)) + COALESCE(r2, CAST(0.0 AS DOUBLE)) + COALESCE(r3, CAST(0.0 AS DOUBLE)) + COALESCE(r4, CAST(0.0 AS DOUBLE)) + COALESCE(r5, CAST(0.0 AS DOUBLE)) + COALESCE(r6, CAST(0.0 AS DOUBLE)) + COALESCE(r7, CAST(0.0 AS DOUBLE)) + COALESCE(r8, CAST(0.0 AS DOUBLE)) + COALESCE(r9, CAST(0.0 AS DOUBLE)) + COALESCE(r10, CAST(0.0 AS DOUBLE)) + COALESCE(r11, CAST(0.0 AS DOUBLE))
    ) AS raw_fit,
    (
      COALESCE(r12, CAST(0.0 AS DOUBLE)) + COALESCE(r13, CAST(0.0 AS DOUBLE)) + COALESCE(r14, CAST(0.0 AS DOUBLE)) + COALESCE(r15, CAST(0.0 AS DOUBLE)) + COALESCE(r16, CAST(0.0 AS DOUBLE)) + COALESCE(r17, CAST(0.0 AS DOUBLE)) + COALESCE(r18, CAST(0.0 AS DOUBLE)) + COALESCE(r19, CAST(0.0 AS DOUBLE)) + COALESCE(r20, CAST(0.0 AS DOUBLE)) + COALESCE(r21, CAST(0.0 AS DOUBLE)) + COALESCE(r22, CAST(0.0 AS DOUBLE))
    ) AS raw_engagement
  FROM base
)
SELECT
  contact_id,
  CASE
    WHEN raw_fit > CAST(100.0 AS DOUBLE)
    THEN CAST(100.0 AS DOUBLE)
    WHEN raw_fit < CAST(-100.0 AS DOUBLE)
    THEN CAST(-100.0 AS DOUBLE)
    ELSE raw_fit
  END AS fit,
  CASE
    WHEN CASE
      WHEN raw_fit > CAST(100.0 AS DOUBLE)
      THEN CAST(100.0 AS DOUBLE)
      WHEN raw_fit < CAST(-100.0 AS DOUBLE)
      THEN CAST(-100.0 AS DOUBLE)
      ELSE raw_fit
    END >= CAST(60.0 AS DOUBLE)
    THEN 'A'
    WHEN CASE
      WHEN raw_fit > CAST(100.0 AS DOUBLE)
      THEN CAST(100.0 AS DOUBLE)
      WHEN raw_fit < CAST(-100.0 AS DOUBLE)
      THEN CAST(-100.0 AS DOUBLE)
      ELSE raw_fit
    END >= CAST(40.0 AS DOUBLE)
    THEN 'B'
    WHEN CASE
      WHEN raw_fit > CAST(100.0 AS DOUBLE)
      THEN CAST(100.0 AS DOUBLE)
      WHEN raw_fit < CAST(-100.0 AS DOUBLE)
      THEN CAST(-100.0 AS DOUBLE)
      ELSE raw_fit
    END >= CAST(20.0 AS DOUBLE)
    THEN 'C'
    ELSE 'D'
  END AS fit_grade,
  raw_engagement AS engagement,
  CASE
    WHEN raw_engagement >= CAST(75.0 AS DOUBLE)
    THEN '4'
    WHEN raw_engagement >= CAST(50.0 AS DOUBLE)
    THEN '3'
    WHEN raw_engagement >= CAST(25.0 AS DOUBLE)
    THEN '2'
    ELSE '1'
  END AS engagement_grade,
  CASE
    WHEN CASE
      WHEN CASE
        WHEN raw_fit > CAST(100.0 AS DOUBLE)
        THEN CAST(100.0 AS DOUBLE)
        WHEN raw_fit < CAST(-100.0 AS DOUBLE)
        THEN CAST(-100.0 AS DOUBLE)
        ELSE raw_fit
      END >= CAST(60.0 AS DOUBLE)
      THEN 'A'
      WHEN CASE
        WHEN raw_fit > CAST(100.0 AS DOUBLE)
        THEN CAST(100.0 AS DOUBLE)
        WHEN raw_fit < CAST(-100.0 AS DOUBLE)
        THEN CAST(-100.0 AS DOUBLE)
        ELSE raw_fit
      END >= CAST(40.0 AS DOUBLE)
      THEN 'B'
      WHEN CASE
        WHEN raw_fit > CAST(100.0 AS DOUBLE)
        THEN CAST(100.0 AS DOUBLE)
        WHEN raw_fit < CAST(-100.0 AS DOUBLE)
        THEN CAST(-100.0 AS DOUBLE)
        ELSE raw_fit
      END >= CAST(20.0 AS DOUBLE)
      THEN 'C'
      ELSE 'D'
    END IS NULL
    OR CASE
      WHEN raw_engagement >= CAST(75.0 AS DOUBLE)
      THEN '4'
      WHEN raw_engagement >= CAST(50.0 AS DOUBLE)
      THEN '3'
      WHEN raw_engagement >= CAST(25.0 AS DOUBLE)
      THEN '2'
      ELSE '1'
    END IS NULL
    THEN CAST(NULL AS VARCHAR)
    ELSE CASE
      WHEN CASE
        WHEN raw_fit > CAST(100.0 AS DOUBLE)
        THEN CAST(100.0 AS DOUBLE)
        WHEN raw_fit < CAST(-100.0 AS DOUBLE)
        THEN CAST(-100.0 AS DOUBLE)
        ELSE raw_fit
      END >= CAST(60.0 AS DOUBLE)
      THEN 'A'
      WHEN CASE
        WHEN raw_fit > CAST(100.0 AS DOUBLE)
        THEN CAST(100.0 AS DOUBLE)
        WHEN raw_fit < CAST(-100.0 AS DOUBLE)
        THEN CAST(-100.0 AS DOUBLE)
        ELSE raw_fit
      END >= CAST(40.0 AS DOUBLE)
      THEN 'B'
      WHEN CASE
        WHEN raw_fit > CAST(100.0 AS DOUBLE)
        THEN CAST(100.0 AS DOUBLE)
        WHEN raw_fit < CAST(-100.0 AS DOUBLE)
        THEN CAST(-100.0 AS DOUBLE)
        ELSE raw_fit
      END >= CAST(20.0 AS DOUBLE)
      THEN 'C'
      ELSE 'D'
    END || CASE
      WHEN raw_engagement >= CAST(75.0 AS DOUBLE)
      THEN '4'
      WHEN raw_engagement >= CAST(50.0 AS DOUBLE)
      THEN '3'
      WHEN raw_engagement >= CAST(25.0 AS DOUBLE)
      THEN '2'
      ELSE '1'
    END
  END AS grade,
  CASE
    WHEN COALESCE(
      (
        CASE
          WHEN CASE
            WHEN CASE
              WHEN raw_fit > CAST(100.0 AS DOUBLE)
              THEN CAST(100.0 AS DOUBLE)
              WHEN raw_fit < CAST(-100.0 AS DOUBLE)
              THEN CAST(-100.0 AS DOUBLE)
              ELSE raw_fit
            END >= CAST(60.0 AS DOUBLE)
            THEN 'A'
            WHEN CASE
              WHEN raw_fit > CAST(100.0 AS DOUBLE)
              THEN CAST(100.0 AS DOUBLE)
              WHEN raw_fit < CAST(-100.0 AS DOUBLE)
              THEN CAST(-100.0 AS DOUBLE)
              ELSE raw_fit
            END >= CAST(40.0 AS DOUBLE)
            THEN 'B'
            WHEN CASE
              WHEN raw_fit > CAST(100.0 AS DOUBLE)
              THEN CAST(100.0 AS DOUBLE)
              WHEN raw_fit < CAST(-100.0 AS DOUBLE)
              THEN CAST(-100.0 AS DOUBLE)
              ELSE raw_fit
            END >= CAST(20.0 AS DOUBLE)
            THEN 'C'
            ELSE 'D'
          END IS NULL
          OR CASE
            WHEN raw_engagement >= CAST(75.0 AS DOUBLE)
            THEN '4'
            WHEN raw_engagement >= CAST(50.0 AS DOUBLE)
            THEN '3'
            WHEN raw_engagement >= CAST(25.0 AS DOUBLE)
            THEN '2'
            ELSE '1'
          END IS NULL
          THEN CAST(NULL AS VARCHAR)
          ELSE CASE
            WHEN CASE
              WHEN raw_fit > CAST(100.0 AS DOUBLE)
              THEN CAST(100.0 AS DOUBLE)
              WHEN raw_fit < CAST(-100.0 AS DOUBLE)
              THEN CAST(-100.0 AS DOUBLE)
              ELSE raw_fit
            END >= CAST(60.0 AS DOUBLE)
            THEN 'A'
            WHEN CASE
              WHEN raw_fit > CAST(100.0 AS DOUBLE)
              THEN CAST(100.0 AS DOUBLE)
              WHEN raw_fit < CAST(-100.0 AS DOUBLE)
              THEN CAST(-100.0 AS DOUBLE)
              ELSE raw_fit
            END >= CAST(40.0 AS DOUBLE)
            THEN 'B'
            WHEN CASE
              WHEN raw_fit > CAST(100.0 AS DOUBLE)
              THEN CAST(100.0 AS DOUBLE)
              WHEN raw_fit < CAST(-100.0 AS DOUBLE)
              THEN CAST(-100.0 AS DOUBLE)
              ELSE raw_fit
            END >= CAST(20.0 AS DOUBLE)
            THEN 'C'
            ELSE 'D'
          END || CASE
            WHEN raw_engagement >= CAST(75.0 AS DOUBLE)
            THEN '4'
            WHEN raw_engagement >= CAST(50.0 AS DOUBLE)
            THEN '3'
            WHEN raw_engagement >= CAST(25.0 AS DOUBLE)
            THEN '2'
            ELSE '1'
          END
        END IN ('A4', 'A3', 'B4')
      ),
      FALSE
    )
    THEN 'sql'
    WHEN CASE
      WHEN raw_fit > CAST(100.0 AS DOUBLE)
      THEN CAST(100.0 AS DOUBLE)
      WHEN raw_fit < CAST(-100.0 AS DOUBLE)
      THEN CAST(-100.0 AS DOUBLE)
      ELSE raw_fit
    END >= CAST(40.0 AS DOUBLE)
    AND raw_engagement >= CAST(50.0 AS DOUBLE)
    THEN 'mql'
    ELSE 'lead'
  END AS stage,
  surge_points >= CAST(40.0 AS DOUBLE) AS surging,
  surge_points,
  r0,
  r1,
  r2,
  r3,
  r4,
  r5,
  r6,
  r7,
  r8,
  r9,
  r10,
  r11,
  r12,
  r13,
  r14,
  r15,
  r16,
  r17,
  r18,
  r19,
  r20,
  r21,
  r22
FROM scored
ORDER BY
  row_no,
  contact_id;
