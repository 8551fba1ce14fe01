WITH keys AS (
  SELECT DISTINCT
    "type"
  FROM events
), keymap AS (
  SELECT
    *
  FROM (
    SELECT
      *,
      COUNT(*) OVER (PARTITION BY h) AS n_same
    FROM (
      SELECT
        *,
        HASH(k_0) AS h
      FROM (
        SELECT DISTINCT
          "k"."type" AS k_0,
          CASE
            WHEN COALESCE(
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
            THEN CAST(50.0 AS DOUBLE)
          END AS p0,
          CASE
            WHEN COALESCE(
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
            THEN CAST(30.0 AS DOUBLE)
          END AS p1,
          CASE
            WHEN COALESCE(
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
            THEN CAST(10.0 AS DOUBLE)
          END AS p2,
          CAST(0.0 AS DOUBLE) AS p3
        FROM keys AS k
      ) AS km
    ) AS kh
  ) AS kd
  WHERE
    CASE WHEN n_same > 1 THEN ERROR('leadscore: event key hash collision') ELSE TRUE END
), ev AS (
  SELECT
    *,
    (
      CAST(EPOCH_US(CURRENT_TIMESTAMP) AS DOUBLE) / CAST(1000000.0 AS DOUBLE) - CAST(e2.ts_us AS DOUBLE) / CAST(1000000.0 AS DOUBLE)
    ) / CAST(86400.0 AS DOUBLE) AS age
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
      m.p0 AS p0,
      m.p1 AS p1,
      m.p2 AS p2,
      m.p3 AS p3
    FROM events AS e
    JOIN keymap AS m
      ON m.h = HASH("e"."type")
  ) AS e2
  WHERE
    e2.ts_us <= EPOCH_US(CURRENT_TIMESTAMP)
), wide AS (
  SELECT
    cid,
    SUM(p0) AS t0,
    SUM(p1) AS t1,
    SUM(p2) AS t2,
    COUNT(CASE WHEN NOT p3 IS NULL AND age <= CAST(30.0 AS DOUBLE) THEN 1 END) AS n3
  FROM ev
  GROUP BY
    cid
), pc AS (
  SELECT
    w.cid,
    CASE
      WHEN NOT w.t0 IS NULL AND COALESCE(w.t0, CAST(0.0 AS DOUBLE)) <> CAST(0.0 AS DOUBLE)
      THEN COALESCE(w.t0, CAST(0.0 AS DOUBLE))
    END AS r0,
    CASE
      WHEN NOT w.t1 IS NULL AND COALESCE(w.t1, CAST(0.0 AS DOUBLE)) <> CAST(0.0 AS DOUBLE)
      THEN COALESCE(w.t1, CAST(0.0 AS DOUBLE))
    END AS r1,
    CASE
      WHEN NOT w.t2 IS NULL AND COALESCE(w.t2, CAST(0.0 AS DOUBLE)) <> CAST(0.0 AS DOUBLE)
      THEN COALESCE(w.t2, CAST(0.0 AS DOUBLE))
    END AS r2,
    w.n3 AS w3,
    CAST(0.0 AS DOUBLE) AS surge_points
  FROM wide AS w
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
    COALESCE(pc.surge_points, CAST(0.0 AS DOUBLE)) AS surge_points
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
  CAST(NULL AS TEXT) AS grade,
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
