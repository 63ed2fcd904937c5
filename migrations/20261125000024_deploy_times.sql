-- Time to deploy as histograms, kept by maintenance beside `deployments`: for each hour and each
-- UTC day, the digests first signed in it and how long their first admission took, counted in
-- log-scale bins 2 % wide (`service::deploy_times` defines the bins and reads percentiles from
-- them, within 1 % of the exact value). The Trends page merges at most 168 of these rows instead
-- of sorting a row per digest (180,000 over 90 days of a large fleet, 150–250 ms, measured with
-- `scripts/bench pages`).
--
-- The table starts empty: maintenance's next run finds no `deploy_times` watermark in
-- `rollup_watermarks` and builds every bucket from `deployments`.
CREATE TABLE deploy_times (
    span         text NOT NULL CHECK (span IN ('hour', 'day')),
    -- Start of the hour or UTC day.
    bucket       timestamptz NOT NULL,
    -- Digests whose first recorded signing falls in the bucket, admitted or not.
    signed       integer NOT NULL CHECK (signed > 0),
    -- The bins holding at least one admitted digest, ascending, and how many each holds.
    bins         smallint[] NOT NULL,
    deployments  integer[] NOT NULL,
    PRIMARY KEY (span, bucket),
    CHECK (cardinality(bins) = cardinality(deployments))
);
