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
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('event_attended')
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
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('webinar_attended')
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
          NULLIF(TRIM("k"."type", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') IN ('content_download')
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
      CAST(DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) AS age,
    m.pw * (
      CASE
        WHEN NOT m.hl IS NULL
        THEN POWER(
          CAST(0.5 AS DOUBLE),
          (
            CAST(DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
          ) / CAST(86400.0 AS DOUBLE) / m.hl
        )
        WHEN NOT m.dd IS NULL
        THEN GREATEST(
          CAST(0.0 AS DOUBLE),
          CAST(1.0 AS DOUBLE) - (
            CAST(DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
          ) / CAST(86400.0 AS DOUBLE) / m.dd
        )
        ELSE CAST(1.0 AS DOUBLE)
      END
    ) AS pts,
    m.win IS NULL
    OR (
      CAST(DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP()) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) <= m.win AS in_win
  FROM (
    SELECT
      NULLIF(TRIM("e"."contact_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS cid,
      DATE_PART(EPOCH_MICROSECOND, "e"."timestamp") AS ts_us,
      "e"."type" AS type
    FROM events AS e
  ) AS e2
  JOIN rulemap AS m
    ON COALESCE("e2"."type", '') = m.k_0
  WHERE
    e2.ts_us <= DATE_PART(EPOCH_MICROSECOND, CURRENT_TIMESTAMP())
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
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
      WHEN slot = 1
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
      WHEN slot = 2
      THEN CASE WHEN n_kept > 0 AND total <> CAST(0.0 AS DOUBLE) THEN total END
    END AS value,
    CAST(NULL AS DOUBLE) AS surge_value
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
    NULLIF(TRIM("c"."contact_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '') AS contact_id,
    0 AS row_no,
    pc.r0 AS r0,
    pc.r1 AS r1,
    pc.r2 AS r2,
    CASE
      WHEN NOT COALESCE(pc.w3, CAST(0.0 AS DOUBLE)) > 0
      THEN CAST(-30.0 AS DOUBLE)
    END AS r3,
    COALESCE(pc.surge_points, CAST(0.0 AS DOUBLE)) AS surge_points
  FROM contacts AS c
  LEFT JOIN pc AS pc
    ON pc.cid = NULLIF(TRIM("c"."contact_id", '\t\n\x0b\f\r\x1c\x1d\x1e\x1f                  　'), '')
), scored AS (
  SELECT
    *,
    (
      COALESCE(r0, CAST(0.0 AS DOUBLE)) + COALESCE(r1, CAST(0.0 AS DOUBLE)) + COALESCE(r2, CAST(0.0 AS DOUBLE)) + COALESCE(r3, CAST(0.0 AS DOUBLE))
    ) AS raw_engagement
  FROM base
)
SELECT
  contact_id,
  CASE
    WHEN raw_engagement < CAST(0.0 AS DOUBLE)
    THEN CAST(0.0 AS DOUBLE)
    ELSE raw_engagement
  END AS engagement,
  CASE
    WHEN CASE
      WHEN raw_engagement < CAST(0.0 AS DOUBLE)
      THEN CAST(0.0 AS DOUBLE)
      ELSE raw_engagement
    END >= CAST(80.0 AS DOUBLE)
    THEN 'hot'
    WHEN CASE
      WHEN raw_engagement < CAST(0.0 AS DOUBLE)
      THEN CAST(0.0 AS DOUBLE)
      ELSE raw_engagement
    END >= CAST(40.0 AS DOUBLE)
    THEN 'warm'
    ELSE 'cold'
  END AS engagement_grade,
  CAST(NULL AS VARCHAR) AS grade,
  CASE
    WHEN CASE
      WHEN raw_engagement < CAST(0.0 AS DOUBLE)
      THEN CAST(0.0 AS DOUBLE)
      ELSE raw_engagement
    END >= CAST(80.0 AS DOUBLE)
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
