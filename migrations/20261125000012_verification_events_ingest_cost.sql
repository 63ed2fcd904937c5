-- Ingestion cost, measured with scripts/bench: every per-row step counts at tens of thousands of
-- events a second.
--
-- The foreign key from each event to its cluster made PostgreSQL lock the cluster's row
-- (FOR KEY SHARE) for every inserted event, and concurrent batches of one cluster queued on it.
-- Ingestion resolves cluster ids in its own transaction and clusters are never deleted, so the
-- check guarded nothing.
ALTER TABLE verification_events DROP CONSTRAINT verification_events_cluster_id_fkey;

-- Per-cluster counts over time now come from verification_hourly; no page reads raw events by
-- cluster and time any more, so this index was pure write cost.
DROP INDEX verification_events_cluster_observed;

-- A regular-expression CHECK on the digest cost more per row than the insert itself (about 18 µs
-- against 3 µs, measured). Ingestion validates digests strictly before they get here; the table
-- keeps a cheap guard of the shape.
ALTER TABLE verification_events DROP CONSTRAINT verification_events_digest_check;
ALTER TABLE verification_events ADD CONSTRAINT verification_events_digest_shape
    CHECK (digest IS NULL OR (length(digest) = 71 AND starts_with(digest, 'sha256:')));

-- The same for signing events, whose fingerprints and digests ingestion validates likewise.
ALTER TABLE signing_events DROP CONSTRAINT signing_events_key_fingerprint_check;
ALTER TABLE signing_events DROP CONSTRAINT signing_events_digest_check;
ALTER TABLE signing_events ADD CONSTRAINT signing_events_shapes CHECK (
    length(key_fingerprint) = 71 AND starts_with(key_fingerprint, 'sha256:')
    AND length(digest) = 71 AND starts_with(digest, 'sha256:'));
