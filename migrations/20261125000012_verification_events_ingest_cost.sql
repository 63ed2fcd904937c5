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
