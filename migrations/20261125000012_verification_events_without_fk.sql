-- The foreign key from each verification event to its cluster made PostgreSQL lock the cluster's
-- row (FOR KEY SHARE) for every inserted event: at tens of thousands of events a second from
-- concurrent batches of one cluster, that is most of the cost. Ingestion resolves cluster ids in
-- the same transaction and clusters are never deleted, so the check guards nothing.
ALTER TABLE verification_events DROP CONSTRAINT verification_events_cluster_id_fkey;
