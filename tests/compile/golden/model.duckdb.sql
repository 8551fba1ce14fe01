WITH keys AS (
  SELECT DISTINCT
    "type",
    "url",
    "form",
    "email_id"
  FROM events
), rulemap AS (
  SELECT DISTINCT
    *
  FROM (
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      12 AS slot,
      CAST(10.0 AS DOUBLE) AS pw,
      CAST(30.0 AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('page_view')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(TRIM("k"."url", '	
                  　'), '') IS NULL
          AND COALESCE(
            (
              LEFT(
                LOWER(NULLIF(TRIM("k"."url", '	
                  　'), '')),
                8
              ) = '/pricing'
            ),
            FALSE
          )
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      13 AS slot,
      CAST(1.0 AS DOUBLE) * (
        CASE
          WHEN NULLIF(TRIM("k"."url", '	
                  　'), '') IS NULL
          THEN CAST(1.0 AS DOUBLE)
          WHEN LOWER(NULLIF(TRIM("k"."url", '	
                  　'), '')) LIKE '/pricing%'
          THEN CAST(2.0 AS DOUBLE)
          WHEN LOWER(NULLIF(TRIM("k"."url", '	
                  　'), '')) LIKE '/demo%'
          THEN CAST(2.0 AS DOUBLE)
          WHEN LOWER(NULLIF(TRIM("k"."url", '	
                  　'), '')) LIKE '/careers%'
          THEN CAST(0.2 AS DOUBLE)
          ELSE CAST(1.0 AS DOUBLE)
        END
      ) AS pw,
      CAST(14.0 AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('page_view')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      14 AS slot,
      CAST(40.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('form_submit')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(TRIM("k"."form", '	
                  　'), '') IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(NULLIF(TRIM("k"."form", '	
                  　'), '')) IN ('demo')
                ),
                FALSE
              )
            ),
            FALSE
          )
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      15 AS slot,
      CAST(50.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(180.0 AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('event_attended')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      16 AS slot,
      CAST(30.0 AS DOUBLE) AS pw,
      CAST(60.0 AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('webinar_attended')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      17 AS slot,
      CAST(10.0 AS DOUBLE) AS pw,
      CAST(60.0 AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('content_download')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      18 AS slot,
      CAST(3.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(90.0 AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('email_click')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      19 AS slot,
      CAST(10.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('email_click')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(TRIM("k"."email_id", '	
                  　'), '') IS NULL
          AND COALESCE(
            (
              LEFT(
                LOWER(NULLIF(TRIM("k"."email_id", '	
                  　'), '')),
                5
              ) = 'demo-'
            ),
            FALSE
          )
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      20 AS slot,
      CAST(5.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('social_share', 'social_follow')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      21 AS slot,
      CAST(0.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(30.0 AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM("k"."type", '	
                  　'), '') IN ('page_view')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      COALESCE("k"."url", '') AS k_1,
      COALESCE("k"."form", '') AS k_2,
      COALESCE("k"."email_id", '') AS k_3,
      22 AS slot,
      CAST(0.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(30.0 AS DOUBLE) AS win
    FROM keys AS k
  ) AS u
), hits AS (
  SELECT
    e2.cid,
    e2.ts_us,
    m.slot AS slot,
    (
      CAST(EPOCH_US(CURRENT_TIMESTAMP) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) AS age,
    m.pw * (
      CASE
        WHEN NOT m.hl IS NULL
        THEN POWER(
          CAST(0.5 AS DOUBLE),
          (
            CAST(EPOCH_US(CURRENT_TIMESTAMP) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
          ) / CAST(86400.0 AS DOUBLE) / m.hl
        )
        WHEN NOT m.dd IS NULL
        THEN CASE
          WHEN CAST(0.0 AS DOUBLE) IS NULL
          OR (
            CAST(1.0 AS DOUBLE) - (
              CAST(EPOCH_US(CURRENT_TIMESTAMP) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
            ) / CAST(86400.0 AS DOUBLE) / m.dd
          ) IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(0.0 AS DOUBLE),
            CAST(1.0 AS DOUBLE) - (
              CAST(EPOCH_US(CURRENT_TIMESTAMP) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
            ) / CAST(86400.0 AS DOUBLE) / m.dd
          )
        END
        ELSE CAST(1.0 AS DOUBLE)
      END
    ) AS pts,
    m.win IS NULL
    OR (
      CAST(EPOCH_US(CURRENT_TIMESTAMP) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) <= m.win AS in_win,
    e2.eid
  FROM (
    SELECT
      NULLIF(TRIM("e"."contact_id", '	
                  　'), '') AS cid,
      EPOCH_US("e"."timestamp") AS ts_us,
      "e"."type" AS type,
      "e"."url" AS url,
      "e"."form" AS form,
      "e"."email_id" AS email_id,
      NULLIF(TRIM("e"."event_id", '	
                  　'), '') AS eid
    FROM events AS e
  ) AS e2
  JOIN rulemap AS m
    ON COALESCE("e2"."type", '') = m.k_0
    AND COALESCE("e2"."url", '') = m.k_1
    AND COALESCE("e2"."form", '') = m.k_2
    AND COALESCE("e2"."email_id", '') = m.k_3
  WHERE
    e2.ts_us <= EPOCH_US(CURRENT_TIMESTAMP)
), ranked AS (
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    eid,
    ROW_NUMBER() OVER (PARTITION BY cid, slot ORDER BY ts_us, eid) AS rn_first,
    ROW_NUMBER() OVER (PARTITION BY cid, slot, in_win ORDER BY ts_us DESC, eid DESC) AS rn_last
  FROM hits
  WHERE
    slot IN (14, 17)
), kept AS (
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    eid,
    in_win AS kept
  FROM hits
  WHERE
    NOT slot IN (14, 17)
  UNION ALL
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    eid,
    CASE
      WHEN slot = 14
      THEN rn_first = 1 AND in_win
      WHEN slot = 17
      THEN in_win AND rn_last <= 3
      ELSE FALSE
    END AS kept
  FROM ranked
), agg AS (
  SELECT
    cid,
    slot,
    SUM(CASE WHEN kept THEN pts END) AS total,
    SUM(CASE WHEN kept THEN 1 ELSE 0 END) AS n_kept,
    SUM(CASE WHEN in_win THEN 1 ELSE 0 END) AS n_win,
    SUM(CASE WHEN kept AND age <= CAST(7.0 AS DOUBLE) THEN pts END) AS surge_total
  FROM kept
  GROUP BY
    cid,
    slot
), rv AS (
  SELECT
    cid,
    slot,
    n_win,
    CASE
      WHEN slot = 12
      THEN CASE
        WHEN n_kept > 0
        AND CASE
          WHEN CAST(-30.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(30.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(30.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-30.0 AS DOUBLE),
            CASE
              WHEN CAST(30.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(30.0 AS DOUBLE), total)
            END
          )
        END <> CAST(0.0 AS DOUBLE)
        THEN CASE
          WHEN CAST(-30.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(30.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(30.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-30.0 AS DOUBLE),
            CASE
              WHEN CAST(30.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(30.0 AS DOUBLE), total)
            END
          )
        END
      END
      WHEN slot = 13
      THEN CASE
        WHEN n_kept > 0
        AND CASE
          WHEN CAST(-20.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(20.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(20.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-20.0 AS DOUBLE),
            CASE
              WHEN CAST(20.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(20.0 AS DOUBLE), total)
            END
          )
        END <> CAST(0.0 AS DOUBLE)
        THEN CASE
          WHEN CAST(-20.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(20.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(20.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-20.0 AS DOUBLE),
            CASE
              WHEN CAST(20.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(20.0 AS DOUBLE), total)
            END
          )
        END
      END
      WHEN slot = 14
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
      WHEN slot = 15
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
      WHEN slot = 16
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
      WHEN slot = 17
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
      WHEN slot = 18
      THEN CASE
        WHEN n_kept > 0
        AND CASE
          WHEN CAST(-15.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(15.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(15.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-15.0 AS DOUBLE),
            CASE
              WHEN CAST(15.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(15.0 AS DOUBLE), total)
            END
          )
        END <> CAST(0.0 AS DOUBLE)
        THEN CASE
          WHEN CAST(-15.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(15.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(15.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-15.0 AS DOUBLE),
            CASE
              WHEN CAST(15.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(15.0 AS DOUBLE), total)
            END
          )
        END
      END
      WHEN slot = 19
      THEN CASE
        WHEN n_kept > 0
        AND CASE
          WHEN CAST(-20.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(20.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(20.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-20.0 AS DOUBLE),
            CASE
              WHEN CAST(20.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(20.0 AS DOUBLE), total)
            END
          )
        END <> CAST(0.0 AS DOUBLE)
        THEN CASE
          WHEN CAST(-20.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(20.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(20.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-20.0 AS DOUBLE),
            CASE
              WHEN CAST(20.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(20.0 AS DOUBLE), total)
            END
          )
        END
      END
      WHEN slot = 20
      THEN CASE
        WHEN n_kept > 0
        AND CASE
          WHEN CAST(-15.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(15.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(15.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-15.0 AS DOUBLE),
            CASE
              WHEN CAST(15.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(15.0 AS DOUBLE), total)
            END
          )
        END <> CAST(0.0 AS DOUBLE)
        THEN CASE
          WHEN CAST(-15.0 AS DOUBLE) IS NULL
          OR CASE
            WHEN CAST(15.0 AS DOUBLE) IS NULL OR total IS NULL
            THEN NULL
            ELSE LEAST(CAST(15.0 AS DOUBLE), total)
          END IS NULL
          THEN NULL
          ELSE GREATEST(
            CAST(-15.0 AS DOUBLE),
            CASE
              WHEN CAST(15.0 AS DOUBLE) IS NULL OR total IS NULL
              THEN NULL
              ELSE LEAST(CAST(15.0 AS DOUBLE), total)
            END
          )
        END
      END
      WHEN slot = 21
      THEN CASE
        WHEN n_win >= 30
        THEN CAST(25.0 AS DOUBLE)
        WHEN n_win >= 10
        THEN CAST(15.0 AS DOUBLE)
        WHEN n_win >= 3
        THEN CAST(5.0 AS DOUBLE)
      END
    END AS value,
    CASE
      WHEN slot = 12 AND n_kept > 0
      THEN CASE
        WHEN CAST(-30.0 AS DOUBLE) IS NULL
        OR CASE
          WHEN CAST(30.0 AS DOUBLE) IS NULL
          OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
          THEN NULL
          ELSE LEAST(CAST(30.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
        END IS NULL
        THEN NULL
        ELSE GREATEST(
          CAST(-30.0 AS DOUBLE),
          CASE
            WHEN CAST(30.0 AS DOUBLE) IS NULL
            OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
            THEN NULL
            ELSE LEAST(CAST(30.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
          END
        )
      END
      WHEN slot = 13 AND n_kept > 0
      THEN CASE
        WHEN CAST(-20.0 AS DOUBLE) IS NULL
        OR CASE
          WHEN CAST(20.0 AS DOUBLE) IS NULL
          OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
          THEN NULL
          ELSE LEAST(CAST(20.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
        END IS NULL
        THEN NULL
        ELSE GREATEST(
          CAST(-20.0 AS DOUBLE),
          CASE
            WHEN CAST(20.0 AS DOUBLE) IS NULL
            OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
            THEN NULL
            ELSE LEAST(CAST(20.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
          END
        )
      END
      WHEN slot = 14 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
      WHEN slot = 15 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
      WHEN slot = 16 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
      WHEN slot = 17 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
      WHEN slot = 18 AND n_kept > 0
      THEN CASE
        WHEN CAST(-15.0 AS DOUBLE) IS NULL
        OR CASE
          WHEN CAST(15.0 AS DOUBLE) IS NULL
          OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
          THEN NULL
          ELSE LEAST(CAST(15.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
        END IS NULL
        THEN NULL
        ELSE GREATEST(
          CAST(-15.0 AS DOUBLE),
          CASE
            WHEN CAST(15.0 AS DOUBLE) IS NULL
            OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
            THEN NULL
            ELSE LEAST(CAST(15.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
          END
        )
      END
      WHEN slot = 19 AND n_kept > 0
      THEN CASE
        WHEN CAST(-20.0 AS DOUBLE) IS NULL
        OR CASE
          WHEN CAST(20.0 AS DOUBLE) IS NULL
          OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
          THEN NULL
          ELSE LEAST(CAST(20.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
        END IS NULL
        THEN NULL
        ELSE GREATEST(
          CAST(-20.0 AS DOUBLE),
          CASE
            WHEN CAST(20.0 AS DOUBLE) IS NULL
            OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
            THEN NULL
            ELSE LEAST(CAST(20.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
          END
        )
      END
      WHEN slot = 20 AND n_kept > 0
      THEN CASE
        WHEN CAST(-15.0 AS DOUBLE) IS NULL
        OR CASE
          WHEN CAST(15.0 AS DOUBLE) IS NULL
          OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
          THEN NULL
          ELSE LEAST(CAST(15.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
        END IS NULL
        THEN NULL
        ELSE GREATEST(
          CAST(-15.0 AS DOUBLE),
          CASE
            WHEN CAST(15.0 AS DOUBLE) IS NULL
            OR COALESCE(surge_total, CAST(0.0 AS DOUBLE)) IS NULL
            THEN NULL
            ELSE LEAST(CAST(15.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
          END
        )
      END
    END AS surge_value
  FROM agg
), pc AS (
  SELECT
    cid,
    MAX(CASE WHEN slot = 12 THEN value END) AS r12,
    MAX(CASE WHEN slot = 13 THEN value END) AS r13,
    MAX(CASE WHEN slot = 14 THEN value END) AS r14,
    MAX(CASE WHEN slot = 15 THEN value END) AS r15,
    MAX(CASE WHEN slot = 16 THEN value END) AS r16,
    MAX(CASE WHEN slot = 17 THEN value END) AS r17,
    MAX(CASE WHEN slot = 18 THEN value END) AS r18,
    MAX(CASE WHEN slot = 19 THEN value END) AS r19,
    MAX(CASE WHEN slot = 20 THEN value END) AS r20,
    MAX(CASE WHEN slot = 21 THEN value END) AS r21,
    MAX(CASE WHEN slot = 22 THEN n_win END) AS w22,
    SUM(surge_value) AS surge_points
  FROM rv
  GROUP BY
    cid
), base AS (
  SELECT
    NULLIF(TRIM("c"."contact_id", '	
                  　'), '') AS contact_id,
    0 AS row_no,
    CASE
      WHEN COALESCE(
        (
          NOT NULLIF(TRIM("c"."job_title", '	
                  　'), '') IS NULL
          AND COALESCE(
            (
              REGEXP_MATCHES(
                NULLIF(TRIM("c"."job_title", '	
                  　'), ''),
                '(?i)\b(vp|director|head|chief)\b'
              )
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
          NOT NULLIF(TRIM("c"."industry", '	
                  　'), '') IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(NULLIF(TRIM("c"."industry", '	
                  　'), '')) IN ('fintech', 'saas', 'software')
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
                WHEN REGEXP_MATCHES(
                  NULLIF(TRIM("c"."employees", '	
                  　'), ''),
                  '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$'
                )
                THEN CAST(NULLIF(TRIM("c"."employees", '	
                  　'), '') AS DOUBLE)
                ELSE CAST(NULL AS DOUBLE)
              END >= CAST(50.0 AS DOUBLE)
              AND CASE
                WHEN REGEXP_MATCHES(
                  NULLIF(TRIM("c"."employees", '	
                  　'), ''),
                  '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$'
                )
                THEN CAST(NULLIF(TRIM("c"."employees", '	
                  　'), '') AS DOUBLE)
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
                  NULLIF(TRIM("c"."budget_confirmed", '	
                  　'), '')
                ) IN ('1', '1.0', 't', 'true', 'y', 'yes')
                THEN TRUE
                WHEN LOWER(
                  NULLIF(TRIM("c"."budget_confirmed", '	
                  　'), '')
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
          NOT NULLIF(TRIM("c"."authority", '	
                  　'), '') IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(NULLIF(TRIM("c"."authority", '	
                  　'), '')) IN ('decision maker')
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
          NOT NULLIF(TRIM("c"."phone", '	
                  　'), '') IS NULL
        ),
        FALSE
      )
      THEN CAST(5.0 AS DOUBLE)
    END AS r5,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM("c"."country", '	
                  　'), '') IS NULL
          OR NOT COALESCE(
            (
              COALESCE(
                (
                  LOWER(NULLIF(TRIM("c"."country", '	
                  　'), '')) IN ('ca', 'gb', 'us')
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
          NOT NULLIF(TRIM("c"."job_title", '	
                  　'), '') IS NULL
          AND COALESCE(
            (
              REGEXP_MATCHES(
                NULLIF(TRIM("c"."job_title", '	
                  　'), ''),
                '(?i)student|intern'
              )
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
    ON pc.cid = NULLIF(TRIM("c"."contact_id", '	
                  　'), '')
  LEFT JOIN leadscore_quality AS q_company
    ON q_company.field = 'company'
    AND q_company.value = NULLIF(TRIM("c"."company", '	
                  　'), '')
  LEFT JOIN leadscore_quality AS q_email
    ON q_email.field = 'email'
    AND q_email.value = NULLIF(TRIM("c"."email", '	
                  　'), '')
  LEFT JOIN leadscore_quality AS q_first_name
    ON q_first_name.field = 'first_name'
    AND q_first_name.value = NULLIF(TRIM("c"."first_name", '	
                  　'), '')
  LEFT JOIN leadscore_quality AS q_last_name
    ON q_last_name.field = 'last_name'
    AND q_last_name.value = NULLIF(TRIM("c"."last_name", '	
                  　'), '')
  LEFT JOIN leadscore_quality AS q_phone
    ON q_phone.field = 'phone'
    AND q_phone.value = NULLIF(TRIM("c"."phone", '	
                  　'), '')
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
    THEN CAST(NULL AS TEXT)
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
          THEN CAST(NULL AS TEXT)
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
