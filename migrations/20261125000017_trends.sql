-- Trends: time to deploy starts from the digests signed in the chosen range. Without an index
-- on the recorded time alone that is a scan of every signing event; with `digest` included the
-- range is read from the index only.
CREATE INDEX signing_events_recorded ON signing_events (recorded_at) INCLUDE (digest);
