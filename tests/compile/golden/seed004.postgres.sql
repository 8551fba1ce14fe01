WITH keys AS (
  SELECT DISTINCT
    "type"
  FROM events
), keymap AS (
  SELECT DISTINCT
    COALESCE("k"."type", '') AS k_0,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM(BOTH '	
                  　' FROM "k"."type"), '') IN ('event_attended')
        ),
        FALSE
      )
      THEN CAST(50.0 AS DOUBLE PRECISION)
    END AS p0,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM(BOTH '	
                  　' FROM "k"."type"), '') IN ('webinar_attended')
        ),
        FALSE
      )
      THEN CAST(30.0 AS DOUBLE PRECISION)
    END AS p1,
    CASE
      WHEN COALESCE(
        (
          NULLIF(TRIM(BOTH '	
                  　' FROM "k"."type"), '') IN ('content_download')
        ),
        FALSE
      )
      THEN CAST(10.0 AS DOUBLE PRECISION)
    END AS p2,
    CAST(0.0 AS DOUBLE PRECISION) AS p3
  FROM keys AS k
), ev AS (
  SELECT
    *,
    (
      CAST(CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT) AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION) - CAST(e2.ts_us AS DOUBLE PRECISION) / CAST(1000000.0 AS DOUBLE PRECISION)
    ) / CAST(86400.0 AS DOUBLE PRECISION) AS age
  FROM (
    SELECT
      NULLIF(TRIM(BOTH '	
                  　' FROM "e"."contact_id"), '') AS cid,
      CAST(EXTRACT(EPOCH FROM "e"."timestamp") * 1000000 AS BIGINT) AS ts_us,
      m.p0 AS p0,
      m.p1 AS p1,
      m.p2 AS p2,
      m.p3 AS p3
    FROM events AS e
    JOIN keymap AS m
      ON COALESCE("e"."type", '') = m.k_0
  ) AS e2
  WHERE
    e2.ts_us <= CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT)
), wide AS (
  SELECT
    cid,
    SUM(p0) AS t0,
    SUM(p1) AS t1,
    SUM(p2) AS t2,
    COUNT(CASE WHEN NOT p3 IS NULL AND age <= CAST(30.0 AS DOUBLE PRECISION) THEN 1 END) AS n3
  FROM ev
  GROUP BY
    cid
), pc AS (
  SELECT
    w.cid,
    CASE
      WHEN NOT w.t0 IS NULL
      AND COALESCE(w.t0, CAST(0.0 AS DOUBLE PRECISION)) <> CAST(0.0 AS DOUBLE PRECISION)
      THEN COALESCE(w.t0, CAST(0.0 AS DOUBLE PRECISION))
    END AS r0,
    CASE
      WHEN NOT w.t1 IS NULL
      AND COALESCE(w.t1, CAST(0.0 AS DOUBLE PRECISION)) <> CAST(0.0 AS DOUBLE PRECISION)
      THEN COALESCE(w.t1, CAST(0.0 AS DOUBLE PRECISION))
    END AS r1,
    CASE
      WHEN NOT w.t2 IS NULL
      AND COALESCE(w.t2, CAST(0.0 AS DOUBLE PRECISION)) <> CAST(0.0 AS DOUBLE PRECISION)
      THEN COALESCE(w.t2, CAST(0.0 AS DOUBLE PRECISION))
    END AS r2,
    w.n3 AS w3,
    CAST(0.0 AS DOUBLE PRECISION) AS surge_points
  FROM wide AS w
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
