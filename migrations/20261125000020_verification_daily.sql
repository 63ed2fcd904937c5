-- Daily counts for the long views (Trends at 30 and 90 days), and the one function every reader
-- of admission counts goes through.
--
-- `verification_hourly` spreads each count over shards so concurrent ingest batches do not queue
-- on one row; at a large fleet's volume that is some 25 rows per cluster and hour, millions over
-- 90 days, too many to sum for a page. Maintenance therefore (1) folds the shards of hours that
-- are over into shard 0 and (2) sums whole days into `verification_daily`, recording in
-- `rollup_watermarks` the moment up to which the daily table is complete.
CREATE TABLE verification_daily (
    day         timestamptz NOT NULL,
    cluster_id  uuid NOT NULL,
    outcome     text NOT NULL,
    reason      text NOT NULL,
    engine      text NOT NULL,
    events      bigint NOT NULL CHECK (events >= 0),
    PRIMARY KEY (day, cluster_id, outcome, reason, engine)
);

CREATE TABLE rollup_watermarks (
    name     text PRIMARY KEY,
    -- Everything before this instant is summed in the table the row names.
    through  timestamptz NOT NULL
);

-- Admission counts between two instants, in rows shaped like `verification_hourly`'s (the
-- `hour` column holds the day for rows from the daily table): whole days before the daily
-- watermark come from `verification_daily`, the rest from `verification_hourly`. Readers sum
-- and bucket them as they like; buckets of a day or more see the same totals either way.
CREATE FUNCTION verification_counts(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (hour timestamptz, cluster_id uuid, outcome text, reason text, engine text, events bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    through timestamptz;
    d_from timestamptz;
    d_to timestamptz;
BEGIN
    SELECT w.through INTO through FROM rollup_watermarks w WHERE w.name = 'verification_daily';
    -- The whole days inside [from_ts, to_ts) that the daily table holds.
    d_from := date_trunc('day', from_ts, 'UTC');
    IF d_from < from_ts THEN
        d_from := d_from + interval '1 day';
    END IF;
    d_to := least(date_trunc('day', to_ts, 'UTC'), coalesce(through, d_from));
    IF d_to <= d_from THEN
        RETURN QUERY SELECT h.hour, h.cluster_id, h.outcome, h.reason, h.engine, h.events
                       FROM verification_hourly h WHERE h.hour >= from_ts AND h.hour < to_ts;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT d.day, d.cluster_id, d.outcome, d.reason, d.engine, d.events
          FROM verification_daily d WHERE d.day >= d_from AND d.day < d_to
        UNION ALL
        SELECT h.hour, h.cluster_id, h.outcome, h.reason, h.engine, h.events
          FROM verification_hourly h WHERE h.hour >= from_ts AND h.hour < d_from
        UNION ALL
        SELECT h.hour, h.cluster_id, h.outcome, h.reason, h.engine, h.events
          FROM verification_hourly h WHERE h.hour >= d_to AND h.hour < to_ts;
END;
$$;
