-- Hourly counts of admission outcomes, maintained in the same transaction as ingestion, so the
-- metrics pages read thousands of rows instead of millions and survive the raw events' retention.
-- Each count is split over a few `shard`s: concurrent batches of one cluster add to different
-- rows instead of queueing for the same row lock until commit. Readers sum over shards.
CREATE TABLE verification_hourly (
    hour        timestamptz NOT NULL,
    shard       smallint NOT NULL DEFAULT 0,
    cluster_id  uuid NOT NULL,
    outcome     text NOT NULL,
    reason      text NOT NULL,
    engine      text NOT NULL,
    events      bigint NOT NULL CHECK (events >= 0),
    PRIMARY KEY (hour, cluster_id, outcome, reason, engine, shard)
);

INSERT INTO verification_hourly (hour, cluster_id, outcome, reason, engine, events)
SELECT date_trunc('hour', observed_at), cluster_id, outcome, reason, engine, count(*)
  FROM verification_events
 GROUP BY 1, 2, 3, 4, 5;

-- Drops the monthly partitions of verification_events that end before `cutoff`, and deletes
-- older rows that landed in the default partition. Returns the partitions dropped.
CREATE FUNCTION drop_verification_events_before(cutoff timestamptz)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    part record;
    month_end timestamptz;
BEGIN
    FOR part IN
        SELECT c.relname
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'verification_events'::regclass
           AND c.relname ~ '^verification_events_[0-9]{4}_[0-9]{2}$'
    LOOP
        month_end := (to_date(right(part.relname, 7), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC')
                     + interval '1 month';
        IF month_end <= cutoff THEN
            EXECUTE format('DROP TABLE %I', part.relname);
            RETURN NEXT part.relname;
        END IF;
    END LOOP;
    DELETE FROM verification_events_default WHERE observed_at < cutoff;
END;
$$;
