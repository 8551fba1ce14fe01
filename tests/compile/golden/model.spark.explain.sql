WITH keys AS (
  SELECT DISTINCT
    `type`,
    `url`,
    `form`,
    `email_id`
  FROM events
), rulemap AS (
  SELECT DISTINCT
    *
  FROM (
    SELECT
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      12 AS slot,
      CAST(10.0 AS DOUBLE) AS pw,
      CAST(30.0 AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('page_view')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`url`), '') IS NULL
          AND COALESCE(
            (
              LEFT(
                LOWER(
                  NULLIF(TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`url`), '')
                ),
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
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      13 AS slot,
      CAST(1.0 AS DOUBLE) * (
        CASE
          WHEN NULLIF(TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`url`), '') IS NULL
          THEN CAST(1.0 AS DOUBLE)
          WHEN LOWER(
            NULLIF(TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`url`), '')
          ) LIKE '/pricing%'
          THEN CAST(2.0 AS DOUBLE)
          WHEN LOWER(
            NULLIF(TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`url`), '')
          ) LIKE '/demo%'
          THEN CAST(2.0 AS DOUBLE)
          WHEN LOWER(
            NULLIF(TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`url`), '')
          ) LIKE '/careers%'
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
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('page_view')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      14 AS slot,
      CAST(40.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('form_submit')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`form`),
            ''
          ) IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(
                    NULLIF(
                      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`form`),
                      ''
                    )
                  ) IN ('demo')
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
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      15 AS slot,
      CAST(50.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(180.0 AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('event_attended')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      16 AS slot,
      CAST(30.0 AS DOUBLE) AS pw,
      CAST(60.0 AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('webinar_attended')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      17 AS slot,
      CAST(10.0 AS DOUBLE) AS pw,
      CAST(60.0 AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('content_download')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      18 AS slot,
      CAST(3.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(90.0 AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('email_click')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      19 AS slot,
      CAST(10.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('email_click')
        ),
        FALSE
      )
      AND COALESCE(
        (
          NOT NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`email_id`),
            ''
          ) IS NULL
          AND COALESCE(
            (
              LEFT(
                LOWER(
                  NULLIF(
                    TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`email_id`),
                    ''
                  )
                ),
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
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      20 AS slot,
      CAST(5.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('social_share', 'social_follow')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
      21 AS slot,
      CAST(0.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(30.0 AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `k`.`type`),
            ''
          ) IN ('page_view')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE(`k`.`type`, '') AS k_0,
      COALESCE(`k`.`url`, '') AS k_1,
      COALESCE(`k`.`form`, '') AS k_2,
      COALESCE(`k`.`email_id`, '') AS k_3,
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
      CAST(UNIX_MICROS(CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) AS age,
    m.pw * (
      CASE
        WHEN NOT m.hl IS NULL
        THEN POWER(
          CAST(0.5 AS DOUBLE),
          (
            CAST(UNIX_MICROS(CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
          ) / CAST(86400.0 AS DOUBLE) / m.hl
        )
        WHEN NOT m.dd IS NULL
        THEN GREATEST(
          CAST(0.0 AS DOUBLE),
          CAST(1.0 AS DOUBLE) - (
            CAST(UNIX_MICROS(CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
          ) / CAST(86400.0 AS DOUBLE) / m.dd
        )
        ELSE CAST(1.0 AS DOUBLE)
      END
    ) AS pts,
    m.win IS NULL
    OR (
      CAST(UNIX_MICROS(CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) <= m.win AS in_win,
    e2.eid
  FROM (
    SELECT
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `e`.`contact_id`),
        ''
      ) AS cid,
      UNIX_MICROS(`e`.`timestamp`) AS ts_us,
      `e`.`type` AS type,
      `e`.`url` AS url,
      `e`.`form` AS form,
      `e`.`email_id` AS email_id,
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `e`.`event_id`),
        ''
      ) AS eid
    FROM events AS e
  ) AS e2
  JOIN rulemap AS m
    ON COALESCE(`e2`.`type`, '') = m.k_0
    AND COALESCE(`e2`.`url`, '') = m.k_1
    AND COALESCE(`e2`.`form`, '') = m.k_2
    AND COALESCE(`e2`.`email_id`, '') = m.k_3
  WHERE
    e2.ts_us <= UNIX_MICROS(CURRENT_TIMESTAMP())
), ranked AS (
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    eid,
    ROW_NUMBER() OVER (PARTITION BY cid, slot ORDER BY ts_us NULLS LAST, eid NULLS LAST) AS rn
  FROM hits
  WHERE
    slot IN (14)
  UNION ALL
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    eid,
    ROW_NUMBER() OVER (PARTITION BY cid, slot, in_win ORDER BY ts_us DESC, eid DESC) AS rn
  FROM hits
  WHERE
    slot IN (17)
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
      THEN rn = 1 AND in_win
      WHEN slot = 17
      THEN in_win AND rn <= 3
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
    SUM(CASE WHEN kept AND age <= CAST(7.0 AS DOUBLE) THEN pts END) AS surge_total,
    MIN(age) AS min_age,
    TRANSFORM(
      ARRAY_SORT(
        COLLECT_LIST(
          IF(CASE WHEN slot IN (21) THEN in_win ELSE kept END, STRUCT(ts_us AS t, eid AS i), NULL)
        )
      ),
      x -> x.i
    ) AS ids
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
        AND GREATEST(CAST(-30.0 AS DOUBLE), LEAST(CAST(30.0 AS DOUBLE), total)) <> CAST(0.0 AS DOUBLE)
        THEN GREATEST(CAST(-30.0 AS DOUBLE), LEAST(CAST(30.0 AS DOUBLE), total))
      END
      WHEN slot = 13
      THEN CASE
        WHEN n_kept > 0
        AND GREATEST(CAST(-20.0 AS DOUBLE), LEAST(CAST(20.0 AS DOUBLE), total)) <> CAST(0.0 AS DOUBLE)
        THEN GREATEST(CAST(-20.0 AS DOUBLE), LEAST(CAST(20.0 AS DOUBLE), total))
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
        AND GREATEST(CAST(-15.0 AS DOUBLE), LEAST(CAST(15.0 AS DOUBLE), total)) <> CAST(0.0 AS DOUBLE)
        THEN GREATEST(CAST(-15.0 AS DOUBLE), LEAST(CAST(15.0 AS DOUBLE), total))
      END
      WHEN slot = 19
      THEN CASE
        WHEN n_kept > 0
        AND GREATEST(CAST(-20.0 AS DOUBLE), LEAST(CAST(20.0 AS DOUBLE), total)) <> CAST(0.0 AS DOUBLE)
        THEN GREATEST(CAST(-20.0 AS DOUBLE), LEAST(CAST(20.0 AS DOUBLE), total))
      END
      WHEN slot = 20
      THEN CASE
        WHEN n_kept > 0
        AND GREATEST(CAST(-15.0 AS DOUBLE), LEAST(CAST(15.0 AS DOUBLE), total)) <> CAST(0.0 AS DOUBLE)
        THEN GREATEST(CAST(-15.0 AS DOUBLE), LEAST(CAST(15.0 AS DOUBLE), total))
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
      THEN GREATEST(
        CAST(-30.0 AS DOUBLE),
        LEAST(CAST(30.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
      )
      WHEN slot = 13 AND n_kept > 0
      THEN GREATEST(
        CAST(-20.0 AS DOUBLE),
        LEAST(CAST(20.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
      )
      WHEN slot = 14 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
      WHEN slot = 15 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
      WHEN slot = 16 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
      WHEN slot = 17 AND n_kept > 0
      THEN COALESCE(surge_total, CAST(0.0 AS DOUBLE))
      WHEN slot = 18 AND n_kept > 0
      THEN GREATEST(
        CAST(-15.0 AS DOUBLE),
        LEAST(CAST(15.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
      )
      WHEN slot = 19 AND n_kept > 0
      THEN GREATEST(
        CAST(-20.0 AS DOUBLE),
        LEAST(CAST(20.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
      )
      WHEN slot = 20 AND n_kept > 0
      THEN GREATEST(
        CAST(-15.0 AS DOUBLE),
        LEAST(CAST(15.0 AS DOUBLE), COALESCE(surge_total, CAST(0.0 AS DOUBLE)))
      )
    END AS surge_value,
    min_age,
    ids,
    n_win AS n_count
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
    MIN(CASE WHEN slot = 22 THEN min_age END) AS l22,
    SUM(surge_value) AS surge_points
  FROM rv
  GROUP BY
    cid
), base AS (
  SELECT
    NULLIF(
      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`contact_id`),
      ''
    ) AS contact_id,
    0 AS row_no,
    CASE
      WHEN COALESCE(
        (
          NOT NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`job_title`),
            ''
          ) IS NULL
          AND COALESCE(
            (
              NULLIF(
                TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`job_title`),
                ''
              ) RLIKE '(?iu)\\b(vp|director|head|chief)\\b'
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
          NOT NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`industry`),
            ''
          ) IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(
                    NULLIF(
                      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`industry`),
                      ''
                    )
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
                WHEN NULLIF(
                  TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`employees`),
                  ''
                ) RLIKE '^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$'
                THEN CAST(NULLIF(
                  TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`employees`),
                  ''
                ) AS DOUBLE)
                ELSE CAST(NULL AS DOUBLE)
              END >= CAST(50.0 AS DOUBLE)
              AND CASE
                WHEN NULLIF(
                  TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`employees`),
                  ''
                ) RLIKE '^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$'
                THEN CAST(NULLIF(
                  TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`employees`),
                  ''
                ) AS DOUBLE)
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
                    TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`budget_confirmed`),
                    ''
                  )
                ) IN ('1', '1.0', 't', 'true', 'y', 'yes')
                THEN TRUE
                WHEN LOWER(
                  NULLIF(
                    TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`budget_confirmed`),
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
          NOT NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`authority`),
            ''
          ) IS NULL
          AND COALESCE(
            (
              COALESCE(
                (
                  LOWER(
                    NULLIF(
                      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`authority`),
                      ''
                    )
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
          NOT NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`phone`),
            ''
          ) IS NULL
        ),
        FALSE
      )
      THEN CAST(5.0 AS DOUBLE)
    END AS r5,
    CASE
      WHEN COALESCE(
        (
          NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`country`),
            ''
          ) IS NULL
          OR NOT COALESCE(
            (
              COALESCE(
                (
                  LOWER(
                    NULLIF(
                      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`country`),
                      ''
                    )
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
          NOT NULLIF(
            TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`job_title`),
            ''
          ) IS NULL
          AND COALESCE(
            (
              NULLIF(
                TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`job_title`),
                ''
              ) RLIKE '(?iu)student|intern'
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
    COALESCE(pc.surge_points, CAST(0.0 AS DOUBLE)) AS surge_points,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`job_title`),
        ''
      )
    ) AS t0,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`industry`),
        ''
      )
    ) AS t1,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`employees`),
        ''
      )
    ) AS t2,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`budget_confirmed`),
        ''
      )
    ) AS t3,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`authority`),
        ''
      )
    ) AS t4,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`phone`),
        ''
      )
    ) AS t5,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`country`),
        ''
      )
    ) AS t6,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`email`),
        ''
      )
    ) AS t7,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`email`),
        ''
      )
    ) AS t8,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`phone`),
        ''
      )
    ) AS t9,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`first_name`),
        ''
      ),
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`last_name`),
        ''
      ),
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`company`),
        ''
      ),
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`email`),
        ''
      )
    ) AS t10,
    ARRAY(
      NULLIF(
        TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`job_title`),
        ''
      )
    ) AS t11,
    pc.l22 AS l22
  FROM contacts AS c
  LEFT JOIN pc AS pc
    ON pc.cid = NULLIF(
      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`contact_id`),
      ''
    )
  LEFT JOIN leadscore_quality AS q_company
    ON q_company.field = 'company'
    AND q_company.value = NULLIF(
      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`company`),
      ''
    )
  LEFT JOIN leadscore_quality AS q_email
    ON q_email.field = 'email'
    AND q_email.value = NULLIF(
      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`email`),
      ''
    )
  LEFT JOIN leadscore_quality AS q_first_name
    ON q_first_name.field = 'first_name'
    AND q_first_name.value = NULLIF(
      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`first_name`),
      ''
    )
  LEFT JOIN leadscore_quality AS q_last_name
    ON q_last_name.field = 'last_name'
    AND q_last_name.value = NULLIF(
      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`last_name`),
      ''
    )
  LEFT JOIN leadscore_quality AS q_phone
    ON q_phone.field = 'phone'
    AND q_phone.value = NULLIF(
      TRIM(BOTH '\t\n\013\014\r\034\035\036\037                  　' FROM `c`.`phone`),
      ''
    )
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
  *
FROM (
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    0 AS ord,
    'fit' AS score,
    'senior-title' AS rule_id,
    r0 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t0 AS texts
  FROM scored
  WHERE
    NOT r0 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    1 AS ord,
    'fit' AS score,
    'target-industry' AS rule_id,
    r1 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t1 AS texts
  FROM scored
  WHERE
    NOT r1 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    2 AS ord,
    'fit' AS score,
    'company-size' AS rule_id,
    r2 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t2 AS texts
  FROM scored
  WHERE
    NOT r2 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    3 AS ord,
    'fit' AS score,
    'budget-confirmed' AS rule_id,
    r3 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t3 AS texts
  FROM scored
  WHERE
    NOT r3 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    4 AS ord,
    'fit' AS score,
    'decision-maker' AS rule_id,
    r4 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t4 AS texts
  FROM scored
  WHERE
    NOT r4 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    5 AS ord,
    'fit' AS score,
    'gave-phone' AS rule_id,
    r5 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t5 AS texts
  FROM scored
  WHERE
    NOT r5 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    6 AS ord,
    'fit' AS score,
    'outside-market' AS rule_id,
    r6 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t6 AS texts
  FROM scored
  WHERE
    NOT r6 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    7 AS ord,
    'fit' AS score,
    'free-email' AS rule_id,
    r7 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t7 AS texts
  FROM scored
  WHERE
    NOT r7 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    8 AS ord,
    'fit' AS score,
    'throwaway-email' AS rule_id,
    r8 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t8 AS texts
  FROM scored
  WHERE
    NOT r8 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    9 AS ord,
    'fit' AS score,
    'bad-phone' AS rule_id,
    r9 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t9 AS texts
  FROM scored
  WHERE
    NOT r9 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    10 AS ord,
    'fit' AS score,
    'spammy-name' AS rule_id,
    r10 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t10 AS texts
  FROM scored
  WHERE
    NOT r10 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    11 AS ord,
    'fit' AS score,
    'student' AS rule_id,
    r11 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    t11 AS texts
  FROM scored
  WHERE
    NOT r11 IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    1500022 AS ord,
    'engagement' AS score,
    'quiet-month' AS rule_id,
    r22 AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    l22 AS age,
    CAST(NULL AS ARRAY<STRING>) AS texts
  FROM scored
  WHERE
    NOT r22 IS NULL
  UNION ALL
  SELECT
    cid AS contact_id,
    row_no AS row_no,
    CASE
      WHEN slot = 12
      THEN 1500012
      WHEN slot = 13
      THEN 1500013
      WHEN slot = 14
      THEN 1500014
      WHEN slot = 15
      THEN 1500015
      WHEN slot = 16
      THEN 1500016
      WHEN slot = 17
      THEN 1500017
      WHEN slot = 18
      THEN 1500018
      WHEN slot = 19
      THEN 1500019
      WHEN slot = 20
      THEN 1500020
      WHEN slot = 21
      THEN 1500021
    END AS ord,
    CASE
      WHEN slot = 12
      THEN 'engagement'
      WHEN slot = 13
      THEN 'engagement'
      WHEN slot = 14
      THEN 'engagement'
      WHEN slot = 15
      THEN 'engagement'
      WHEN slot = 16
      THEN 'engagement'
      WHEN slot = 17
      THEN 'engagement'
      WHEN slot = 18
      THEN 'engagement'
      WHEN slot = 19
      THEN 'engagement'
      WHEN slot = 20
      THEN 'engagement'
      WHEN slot = 21
      THEN 'engagement'
    END AS score,
    CASE
      WHEN slot = 12
      THEN 'pricing'
      WHEN slot = 13
      THEN 'web-visits'
      WHEN slot = 14
      THEN 'demo-request'
      WHEN slot = 15
      THEN 'offline-event'
      WHEN slot = 16
      THEN 'live-stream'
      WHEN slot = 17
      THEN 'download'
      WHEN slot = 18
      THEN 'email-click'
      WHEN slot = 19
      THEN 'demo-email-click'
      WHEN slot = 20
      THEN 'social'
      WHEN slot = 21
      THEN 'busy-reader'
    END AS rule_id,
    value AS points,
    ids AS ids,
    CASE WHEN slot IN (21) THEN CAST(n_count AS BIGINT) END AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    CAST(NULL AS ARRAY<STRING>) AS texts
  FROM (
    SELECT
      rv.cid,
      rv.slot,
      rv.value,
      rv.ids,
      rv.n_count,
      b.row_no AS row_no
    FROM rv AS rv
    JOIN base AS b
      ON b.contact_id = rv.cid
  ) AS x
  WHERE
    NOT value IS NULL
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    999998 AS ord,
    'fit' AS score,
    'ceiling' AS rule_id,
    CAST(100.0 AS DOUBLE) - raw_fit AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    CAST(NULL AS ARRAY<STRING>) AS texts
  FROM scored
  WHERE
    raw_fit > CAST(100.0 AS DOUBLE)
  UNION ALL
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    999999 AS ord,
    'fit' AS score,
    'floor' AS rule_id,
    CAST(-100.0 AS DOUBLE) - raw_fit AS points,
    CAST(NULL AS ARRAY<STRING>) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    CAST(NULL AS ARRAY<STRING>) AS texts
  FROM scored
  WHERE
    raw_fit < CAST(-100.0 AS DOUBLE) AND raw_fit <= CAST(100.0 AS DOUBLE)
) AS contributions
ORDER BY
  row_no,
  contact_id,
  ord;
