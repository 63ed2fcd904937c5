-- The single-statement experiment behind docs/benchmarks.md's "anti-join, not ON CONFLICT":
-- 200,000 event-shaped rows inserted into a scratch copy of verification_events, with the primary
-- key and the duplicate check varied. Run each variant against a scratch database and compare
-- the printed times:
--
--   psql "$DATABASE_URL" -v pk= -v idx1= -v idx2= -v conflict= -f scripts/experiments/ingest-insert-cost.sql
--   psql "$DATABASE_URL" -v pk=', PRIMARY KEY (id, observed_at)' -v idx1= -v idx2= -v conflict= -f …
--   psql "$DATABASE_URL" -v pk=', PRIMARY KEY (id, observed_at)' -v idx1= -v idx2= \
--        -v conflict='ON CONFLICT (id, observed_at) DO NOTHING' -f …
--   psql "$DATABASE_URL" -v pk=', PRIMARY KEY (id, observed_at)' -v idx1= -v idx2= \
--        -v conflict='s WHERE NOT EXISTS (SELECT 1 FROM ve v WHERE v.id = s.id AND v.observed_at = s.observed_at)' -f …
--   psql "$DATABASE_URL" -v pk=', PRIMARY KEY (id, observed_at)' \
--        -v idx1='CREATE INDEX ON ve (digest, observed_at DESC);' -v idx2= -v conflict= -f …
--
-- It creates (and replaces) a table `ve` in the database it runs against: never a real one.
\set ON_ERROR_STOP 1
DROP TABLE IF EXISTS ve;
CREATE TABLE ve (
    id uuid NOT NULL, cluster_id uuid NOT NULL, namespace text NOT NULL, workload_kind text NOT NULL,
    workload_name text NOT NULL, image text NOT NULL, repository text NOT NULL, digest text,
    outcome text NOT NULL CHECK (outcome IN ('admitted','rejected','warned','error')), reason text NOT NULL, engine text NOT NULL,
    policy text, message text, checks jsonb NOT NULL DEFAULT '[]', key_fingerprints text[] NOT NULL DEFAULT '{}',
    observed_at timestamptz NOT NULL, received_at timestamptz NOT NULL DEFAULT now()
    :pk
) PARTITION BY RANGE (observed_at);
CREATE TABLE ve_2026_11 PARTITION OF ve FOR VALUES FROM ('2026-11-01') TO ('2026-12-01');
:idx1
:idx2
CREATE TEMP TABLE src AS SELECT
  ('00000000-0000-7000-8000-' || lpad(to_hex(i),12,'0'))::uuid AS id,
  '11111111-1111-1111-1111-111111111111'::uuid AS cluster_id, 'payments' AS namespace, 'Deployment' AS kind, 'api' AS workload,
  'registry.example.com/payments/api:1.' || (i%50) || '.0' AS image, 'registry.example.com/payments/api' AS repository,
  'sha256:' || lpad(to_hex(i % 5000), 64, '0') AS digest,
  CASE WHEN i%10=0 THEN 'rejected' ELSE 'admitted' END AS outcome, CASE WHEN i%10=0 THEN 'unsigned' ELSE 'admitted' END AS reason,
  'kyverno' AS engine, 'require-signed' AS policy, CASE WHEN i%10=0 THEN 'failed to verify image: no signatures found' END AS message,
  '[]'::jsonb AS checks, ARRAY['sha256:' || lpad(to_hex(i%7),64,'0')] AS keys,
  timestamptz '2026-11-25 10:00' + (i || ' ms')::interval AS observed_at
  FROM generate_series(1, 200000) i;
CHECKPOINT;
\timing on
INSERT INTO ve (id, cluster_id, namespace, workload_kind, workload_name, image, repository, digest, outcome, reason, engine, policy, message, checks, key_fingerprints, observed_at)
  SELECT * FROM src :conflict;
\timing off
