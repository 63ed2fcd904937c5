-- Admission counts in the shape the Trends page reads them, kept by maintenance.
--
-- `verification_hourly` and `verification_daily` keep a row per cluster, outcome, reason and
-- engine: some 310 rows an hour and 815 a day for a fleet of 30 clusters, so a 7-day chart summed
-- 52,000 rows and a 90-day one 73,000, four times per page (the Trends page's p95 was 150–290 ms
-- with `scripts/bench pages`). The charts need neither the cluster nor the engine, only the
-- environment, so these tables drop both: a few dozen rows per bucket.
--
-- `trend_admissions` holds, per hour and per UTC day, the admissions by the environment of the
-- reporting cluster (as it was when maintenance summed the bucket), outcome and reason;
-- `trend_reporting` holds which clusters reported in each bucket (the coverage chart).
-- Both are rebuilt from `verification_hourly` for the buckets before the `trend_hour` and
-- `trend_day` watermarks in `rollup_watermarks`; readers take the buckets at and after a
-- watermark from `verification_hourly` itself, so a chart is complete between maintenance runs.
CREATE TABLE trend_admissions (
    span         text NOT NULL CHECK (span IN ('hour', 'day')),
    -- Start of the hour or UTC day.
    bucket       timestamptz NOT NULL,
    environment  text NOT NULL,
    outcome      text NOT NULL,
    reason       text NOT NULL,
    events       bigint NOT NULL CHECK (events > 0),
    PRIMARY KEY (span, bucket, environment, outcome, reason)
);

CREATE TABLE trend_reporting (
    span        text NOT NULL CHECK (span IN ('hour', 'day')),
    bucket      timestamptz NOT NULL,
    cluster_id  uuid NOT NULL,
    PRIMARY KEY (span, bucket, cluster_id)
);

-- '-infinity': nothing summed yet. Rows exist from the start so that maintenance running on two
-- replicas at once queues on them (`FOR UPDATE`) instead of racing to insert them.
INSERT INTO rollup_watermarks (name, through)
VALUES ('trend_hour', '-infinity'), ('trend_day', '-infinity')
ON CONFLICT (name) DO NOTHING;
