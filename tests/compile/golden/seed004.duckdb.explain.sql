WITH keys AS (
  SELECT DISTINCT
    "type"
  FROM events
), rulemap AS (
  SELECT DISTINCT
    *
  FROM (
    SELECT
      COALESCE("k"."type", '') AS k_0,
      0 AS slot,
      CAST(50.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          CASE
            WHEN ARRAY_EXTRACT("k"."type", 1) BETWEEN '!' AND '~'
            AND ARRAY_EXTRACT("k"."type", -1) BETWEEN '!' AND '~'
            THEN "k"."type"
            ELSE NULLIF(TRIM("k"."type", '	
                  　'), '')
          END IN ('event_attended')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      1 AS slot,
      CAST(30.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          CASE
            WHEN ARRAY_EXTRACT("k"."type", 1) BETWEEN '!' AND '~'
            AND ARRAY_EXTRACT("k"."type", -1) BETWEEN '!' AND '~'
            THEN "k"."type"
            ELSE NULLIF(TRIM("k"."type", '	
                  　'), '')
          END IN ('webinar_attended')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      2 AS slot,
      CAST(10.0 AS DOUBLE) AS pw,
      CAST(NULL AS DOUBLE) AS hl,
      CAST(NULL AS DOUBLE) AS dd,
      CAST(NULL AS DOUBLE) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          CASE
            WHEN ARRAY_EXTRACT("k"."type", 1) BETWEEN '!' AND '~'
            AND ARRAY_EXTRACT("k"."type", -1) BETWEEN '!' AND '~'
            THEN "k"."type"
            ELSE NULLIF(TRIM("k"."type", '	
                  　'), '')
          END IN ('content_download')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      3 AS slot,
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
      CASE
        WHEN ARRAY_EXTRACT("e"."contact_id", 1) BETWEEN '!' AND '~'
        AND ARRAY_EXTRACT("e"."contact_id", -1) BETWEEN '!' AND '~'
        THEN "e"."contact_id"
        ELSE NULLIF(TRIM("e"."contact_id", '	
                  　'), '')
      END AS cid,
      EPOCH_US("e"."timestamp") AS ts_us,
      "e"."type" AS type,
      CASE
        WHEN ARRAY_EXTRACT("e"."event_id", 1) BETWEEN '!' AND '~'
        AND ARRAY_EXTRACT("e"."event_id", -1) BETWEEN '!' AND '~'
        THEN "e"."event_id"
        ELSE NULLIF(TRIM("e"."event_id", '	
                  　'), '')
      END AS eid
    FROM events AS e
  ) AS e2
  JOIN rulemap AS m
    ON COALESCE("e2"."type", '') = m.k_0
  WHERE
    e2.ts_us <= EPOCH_US(CURRENT_TIMESTAMP)
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
), agg AS (
  SELECT
    cid,
    slot,
    SUM(CASE WHEN kept THEN pts END) AS total,
    SUM(CASE WHEN kept THEN 1 ELSE 0 END) AS n_kept,
    SUM(CASE WHEN in_win THEN 1 ELSE 0 END) AS n_win,
    MIN(age) AS min_age,
    ARRAY_AGG(eid ORDER BY ts_us, eid) FILTER(WHERE
      CASE WHEN slot IN (-1) THEN in_win ELSE kept END) AS ids
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
      WHEN slot = 0
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
      WHEN slot = 1
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
      WHEN slot = 2
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
    END AS value,
    CAST(NULL AS DOUBLE) AS surge_value,
    min_age,
    ids,
    n_win AS n_count
  FROM agg
), pc AS (
  SELECT
    cid,
    MAX(CASE WHEN slot = 0 THEN value END) AS r0,
    MAX(CASE WHEN slot = 1 THEN value END) AS r1,
    MAX(CASE WHEN slot = 2 THEN value END) AS r2,
    MAX(CASE WHEN slot = 3 THEN n_win END) AS w3,
    MIN(CASE WHEN slot = 3 THEN min_age END) AS l3,
    SUM(surge_value) AS surge_points
  FROM rv
  GROUP BY
    cid
), base AS (
  SELECT
    CASE
      WHEN ARRAY_EXTRACT("c"."contact_id", 1) BETWEEN '!' AND '~'
      AND ARRAY_EXTRACT("c"."contact_id", -1) BETWEEN '!' AND '~'
      THEN "c"."contact_id"
      ELSE NULLIF(TRIM("c"."contact_id", '	
                  　'), '')
    END AS contact_id,
    0 AS row_no,
    pc.r0 AS r0,
    pc.r1 AS r1,
    pc.r2 AS r2,
    CASE
      WHEN NOT COALESCE(pc.w3, CAST(0.0 AS DOUBLE)) > 0
      THEN CAST(-30.0 AS DOUBLE)
    END AS r3,
    COALESCE(pc.surge_points, CAST(0.0 AS DOUBLE)) AS surge_points,
    pc.l3 AS l3
  FROM contacts AS c
  LEFT JOIN pc AS pc
    ON pc.cid = CASE
      WHEN ARRAY_EXTRACT("c"."contact_id", 1) BETWEEN '!' AND '~'
      AND ARRAY_EXTRACT("c"."contact_id", -1) BETWEEN '!' AND '~'
      THEN "c"."contact_id"
      ELSE NULLIF(TRIM("c"."contact_id", '	
                  　'), '')
    END
), scored AS (
  SELECT
    *,
    (
      COALESCE(r0, CAST(0.0 AS DOUBLE)) + COALESCE(r1, CAST(0.0 AS DOUBLE)) + COALESCE(r2, CAST(0.0 AS DOUBLE)) + COALESCE(r3, CAST(0.0 AS DOUBLE))
    ) AS raw_engagement
  FROM base
)
SELECT
  *
FROM (
  SELECT
    contact_id AS contact_id,
    row_no AS row_no,
    500003 AS ord,
    'engagement' AS score,
    'quiet-month' AS rule_id,
    r3 AS points,
    CAST(NULL AS TEXT[]) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    l3 AS age,
    CAST(NULL AS TEXT[]) AS texts
  FROM scored
  WHERE
    NOT r3 IS NULL
  UNION ALL
  SELECT
    cid AS contact_id,
    row_no AS row_no,
    CASE WHEN slot = 0 THEN 500000 WHEN slot = 1 THEN 500001 WHEN slot = 2 THEN 500002 END AS ord,
    CASE
      WHEN slot = 0
      THEN 'engagement'
      WHEN slot = 1
      THEN 'engagement'
      WHEN slot = 2
      THEN 'engagement'
    END AS score,
    CASE
      WHEN slot = 0
      THEN 'offline-event'
      WHEN slot = 1
      THEN 'live-stream'
      WHEN slot = 2
      THEN 'download'
    END AS rule_id,
    value AS points,
    ids AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    CAST(NULL AS TEXT[]) AS texts
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
    999999 AS ord,
    'engagement' AS score,
    'floor' AS rule_id,
    CAST(0.0 AS DOUBLE) - raw_engagement AS points,
    CAST(NULL AS TEXT[]) AS ids,
    CAST(NULL AS BIGINT) AS n_count,
    CAST(NULL AS DOUBLE) AS age,
    CAST(NULL AS TEXT[]) AS texts
  FROM scored
  WHERE
    raw_engagement < CAST(0.0 AS DOUBLE)
) AS contributions
ORDER BY
  row_no,
  contact_id,
  ord;
