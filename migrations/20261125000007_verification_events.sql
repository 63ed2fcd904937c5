-- Admission outcomes from every cluster, partitioned by month of observation so old months can be
-- dropped whole and recent ones stay small. The primary key includes the partition key, as
-- PostgreSQL requires; a resent event has the same id and observed time, so it is still found.
CREATE TABLE verification_events (
    id             uuid NOT NULL,
    cluster_id     uuid NOT NULL REFERENCES clusters (id),
    namespace      text NOT NULL,
    workload_kind  text NOT NULL,
    workload_name  text NOT NULL,
    image          text NOT NULL,
    repository     text NOT NULL,
    digest         text CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
    outcome        text NOT NULL CHECK (outcome IN ('admitted', 'rejected', 'warned', 'error')),
    reason         text NOT NULL,
    engine         text NOT NULL,
    policy         text,
    message        text,
    checks         jsonb NOT NULL DEFAULT '[]'::jsonb,
    key_fingerprints text[] NOT NULL DEFAULT '{}',
    observed_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, observed_at)
) PARTITION BY RANGE (observed_at);

-- Catches anything outside the prepared months, so an odd timestamp is stored, never lost.
CREATE TABLE verification_events_default PARTITION OF verification_events DEFAULT;

-- Overview and trends: counts per cluster and outcome over time.
CREATE INDEX verification_events_cluster_observed ON verification_events (cluster_id, observed_at DESC);
-- Rejections page: newest non-admitted first (keyset pagination on observed_at, id).
CREATE INDEX verification_events_not_admitted ON verification_events (observed_at DESC, id DESC)
    WHERE outcome <> 'admitted';
-- Image page and "other rejections of this digest".
CREATE INDEX verification_events_digest ON verification_events (digest, observed_at DESC);

-- Creates monthly partitions from `months_back` months ago to `months_ahead` months ahead.
-- Idempotent; called at every start.
CREATE FUNCTION ensure_verification_event_partitions(months_back int, months_ahead int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m date;
    name text;
BEGIN
    FOR i IN -months_back..months_ahead LOOP
        m := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
        name := format('verification_events_%s', to_char(m, 'YYYY_MM'));
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF verification_events FOR VALUES FROM (%L) TO (%L)',
                name, (m::timestamp AT TIME ZONE 'UTC'), ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
        END IF;
    END LOOP;
END;
$$;
SELECT ensure_verification_event_partitions(12, 3);
