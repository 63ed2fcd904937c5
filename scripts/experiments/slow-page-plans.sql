-- The plans behind docs/benchmarks.md's "Pages" section, read-only, against the database that
-- `scripts/bench pages` filled:
--
--   psql postgres://postgres@127.0.0.1/trustwatch_bench -f scripts/experiments/slow-page-plans.sql
--
-- 1. The Trends page's 90-day success rate as it was read before the trend rollups (through
--    `verification_counts`) and as `service::trends` reads it now (trend rollups before the
--    `trend_day` watermark, `verification_hourly` after it).
-- 2. The image search's statement (`service::known_images::search`, text query), the slowest
--    statement of the slowest page.
-- Run it twice: the first run reads pages from disk that the second finds in shared buffers.
\set ON_ERROR_STOP 1
\timing on

SELECT date_trunc('day', now(), 'UTC') + interval '1 day' AS to_ts,
       date_trunc('day', now(), 'UTC') + interval '1 day' - interval '90 days' AS from_ts,
       (SELECT through FROM rollup_watermarks WHERE name = 'trend_day') AS split
\gset

\echo '1a. Trends, 90 d, success rate, before the trend rollups'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT date_bin('1 day'::interval, h.hour, timestamptz '2000-01-01 00:00:00+00') AS bucket, c.environment,
       coalesce(sum(h.events) FILTER (WHERE h.outcome = 'admitted'), 0)::bigint, sum(h.events)::bigint
  FROM verification_counts(:'from_ts', :'to_ts') h
  JOIN clusters c ON c.id = h.cluster_id
 GROUP BY 1, 2 ORDER BY 2, 1;

\echo '1b. Trends, 90 d, success rate, now'
PREPARE success_rate(timestamptz, timestamptz, text, text, timestamptz) AS
SELECT bucket, environment,
       coalesce(sum(events) FILTER (WHERE outcome = 'admitted'), 0)::bigint, sum(events)::bigint
  FROM (SELECT bucket, environment, outcome, reason, events
          FROM trend_admissions
         WHERE span = $4 AND bucket >= $1 AND bucket < $5
        UNION ALL
        SELECT date_bin($3::interval, h.hour, timestamptz '2000-01-01 00:00:00+00'), c.environment,
               h.outcome, h.reason, h.events
          FROM verification_hourly h
          JOIN clusters c ON c.id = h.cluster_id
         WHERE h.hour >= $5 AND h.hour < $2) a
 GROUP BY 1, 2 ORDER BY 2, 1;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
EXECUTE success_rate(:'from_ts', :'to_ts', '1 day', 'day', greatest(:'from_ts'::timestamptz, least(:'to_ts'::timestamptz, :'split'::timestamptz)));

\echo '2. Images, search for team4/service-1'
SELECT array_agg(repository)::text AS repos FROM image_repositories
 WHERE strpos(lower(repository), 'team4/service-1') > 0
\gset
PREPARE image_search(text, text[], bigint) AS
SELECT m.repository, m.digest, m.references, m.first_seen, m.last_seen,
       CASE WHEN m.digest IS NULL THEN 0
            ELSE (SELECT count(*) FROM signing_events s WHERE s.digest = m.digest) END AS signatures
  FROM (SELECT repository, digest, array_agg(DISTINCT image ORDER BY image) AS references,
               min(first_seen) AS first_seen, max(last_seen) AS last_seen
          FROM (SELECT * FROM known_images
                 WHERE repository = ANY($2) AND strpos(lower(image), $1) > 0) AS c
         GROUP BY repository, digest
         ORDER BY max(last_seen) DESC, repository, digest
         LIMIT $3) AS m
 ORDER BY m.last_seen DESC, m.repository, m.digest;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE image_search('team4/service-1', :'repos', 100);
