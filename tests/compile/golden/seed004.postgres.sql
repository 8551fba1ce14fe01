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
      CAST(50.0 AS DOUBLE PRECISION) AS pw,
      CAST(NULL AS DOUBLE PRECISION) AS hl,
      CAST(NULL AS DOUBLE PRECISION) AS dd,
      CAST(NULL AS DOUBLE PRECISION) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM(BOTH '	
                  　' FROM "k"."type"), '') IN ('event_attended')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      1 AS slot,
      CAST(30.0 AS DOUBLE PRECISION) AS pw,
      CAST(NULL AS DOUBLE PRECISION) AS hl,
      CAST(NULL AS DOUBLE PRECISION) AS dd,
      CAST(NULL AS DOUBLE PRECISION) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM(BOTH '	
                  　' FROM "k"."type"), '') IN ('webinar_attended')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      2 AS slot,
      CAST(10.0 AS DOUBLE PRECISION) AS pw,
      CAST(NULL AS DOUBLE PRECISION) AS hl,
      CAST(NULL AS DOUBLE PRECISION) AS dd,
      CAST(NULL AS DOUBLE PRECISION) AS win
    FROM keys AS k
    WHERE
      COALESCE(
        (
          NULLIF(TRIM(BOTH '	
                  　' FROM "k"."type"), '') IN ('content_download')
        ),
        FALSE
      )
    UNION ALL
    SELECT
      COALESCE("k"."type", '') AS k_0,
      3 AS slot,
      CAST(0.0 AS DOUBLE PRECISION) AS pw,
      CAST(NULL AS DOUBLE PRECISION) AS hl,
      CAST(NULL AS DOUBLE PRECISION) AS dd,
      CAST(30.0 AS DOUBLE PRECISION) AS win
    FROM keys AS k
  ) AS u
), hits AS (
  SELECT
    e2.cid,
    e2.ts_us,
    m.slot AS slot,
    (
      CAST(CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT) AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION) - CAST(e2.ts_us AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION)
    ) / CAST(86400.0 AS DOUBLE PRECISION) AS age,
    m.pw * (
      CASE
        WHEN NOT m.hl IS NULL
        THEN POWER(
          CAST(0.5 AS DOUBLE PRECISION),
          CAST((
            CAST(CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT) AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION) - CAST(e2.ts_us AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION)
          ) / CAST(86400.0 AS DOUBLE PRECISION) AS DOUBLE PRECISION) / m.hl
        )
        WHEN NOT m.dd IS NULL
        THEN GREATEST(
          CAST(0.0 AS DOUBLE PRECISION),
          CAST(1.0 AS DOUBLE PRECISION) - CAST((
            CAST(CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT) AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION) - CAST(e2.ts_us AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION)
          ) / CAST(86400.0 AS DOUBLE PRECISION) AS DOUBLE PRECISION) / m.dd
        )
        ELSE CAST(1.0 AS DOUBLE PRECISION)
      END
    ) AS pts,
    m.win IS NULL
    OR (
      CAST(CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT) AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION) - CAST(e2.ts_us AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION)
    ) / CAST(86400.0 AS DOUBLE PRECISION) <= m.win AS in_win
  FROM (
    SELECT
      NULLIF(TRIM(BOTH '	
                  　' FROM "e"."contact_id"), '') AS cid,
      CAST(EXTRACT(EPOCH FROM "e"."timestamp") * 1000000 AS BIGINT) AS ts_us,
      "e"."type" AS type
    FROM events AS e
  ) AS e2
  JOIN rulemap AS m
    ON COALESCE("e2"."type", '') = m.k_0
  WHERE
    e2.ts_us <= CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT)
), kept AS (
  SELECT
    cid,
    ts_us,
    slot,
    age,
    pts,
    in_win,
    in_win AS kept
  FROM hits
), agg AS (
  SELECT
    cid,
    slot,
    SUM(CASE WHEN kept THEN pts END) AS total,
    SUM(CASE WHEN kept THEN 1 ELSE 0 END) AS n_kept,
    SUM(CASE WHEN in_win THEN 1 ELSE 0 END) AS n_win
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
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE PRECISION) THEN total END
      WHEN slot = 1
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE PRECISION) THEN total END
      WHEN slot = 2
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE PRECISION) THEN total END
    END AS value,
    CAST(NULL AS DOUBLE PRECISION) AS surge_value
  FROM agg
), pc AS (
  SELECT
    cid,
    MAX(CASE WHEN slot = 0 THEN value END) AS r0,
    MAX(CASE WHEN slot = 1 THEN value END) AS r1,
    MAX(CASE WHEN slot = 2 THEN value END) AS r2,
    MAX(CASE WHEN slot = 3 THEN n_win END) AS w3,
    SUM(surge_value) AS surge_points
  FROM rv
  GROUP BY
    cid
), base AS (
  SELECT
    NULLIF(TRIM(BOTH '	
                  　' FROM "c"."contact_id"), '') AS contact_id,
    0 AS row_no,
    pc.r0 AS r0,
    pc.r1 AS r1,
    pc.r2 AS r2,
    CASE
      WHEN NOT COALESCE(pc.w3, CAST(0.0 AS DOUBLE PRECISION)) > 0
      THEN CAST(-30.0 AS DOUBLE PRECISION)
    END AS r3,
    COALESCE(pc.surge_points, CAST(0.0 AS DOUBLE PRECISION)) AS surge_points
  FROM contacts AS c
  LEFT JOIN pc AS pc
    ON pc.cid = NULLIF(TRIM(BOTH '	
                  　' FROM "c"."contact_id"), '')
), scored AS (
  SELECT
    *,
    (
      COALESCE(r0, CAST(0.0 AS DOUBLE PRECISION)) + COALESCE(r1, CAST(0.0 AS DOUBLE PRECISION)) + COALESCE(r2, CAST(0.0 AS DOUBLE PRECISION)) + COALESCE(r3, CAST(0.0 AS DOUBLE PRECISION))
    ) AS raw_engagement
  FROM base
)
SELECT
  contact_id,
  CASE
    WHEN raw_engagement < CAST(0.0 AS DOUBLE PRECISION)
    THEN CAST(0.0 AS DOUBLE PRECISION)
    ELSE raw_engagement
  END AS engagement,
  CASE
    WHEN CASE
      WHEN raw_engagement < CAST(0.0 AS DOUBLE PRECISION)
      THEN CAST(0.0 AS DOUBLE PRECISION)
      ELSE raw_engagement
    END >= CAST(80.0 AS DOUBLE PRECISION)
    THEN 'hot'
    WHEN CASE
      WHEN raw_engagement < CAST(0.0 AS DOUBLE PRECISION)
      THEN CAST(0.0 AS DOUBLE PRECISION)
      ELSE raw_engagement
    END >= CAST(40.0 AS DOUBLE PRECISION)
    THEN 'warm'
    ELSE 'cold'
  END AS engagement_grade,
  CAST(NULL AS TEXT) AS grade,
  CASE
    WHEN CASE
      WHEN raw_engagement < CAST(0.0 AS DOUBLE PRECISION)
      THEN CAST(0.0 AS DOUBLE PRECISION)
      ELSE raw_engagement
    END >= CAST(80.0 AS DOUBLE PRECISION)
    THEN 'mql'
    ELSE 'lead'
  END AS stage,
  FALSE AS surging,
  surge_points,
  r0,
  r1,
  r2,
  r3
FROM scored
ORDER BY
  row_no,
  contact_id;
