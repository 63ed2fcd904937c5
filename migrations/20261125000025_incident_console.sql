-- The incident console: what running a playbook needs beyond the first incidents table.

-- The whole validated playbook the incident runs, so a later edit of the file never changes it;
-- drills run the same steps with simulated actions; T, the suspected compromise time; and the
-- milestones the review and the Trends page measure (set by the steps that reach them).
ALTER TABLE incidents
    ADD COLUMN playbook_document jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN drill boolean NOT NULL DEFAULT false,
    ADD COLUMN compromised_since timestamptz,
    ADD COLUMN replacement_key_id uuid REFERENCES keys (id),
    -- The trust-bundle version containment published: propagation waits for every cluster to
    -- acknowledge it.
    ADD COLUMN contain_bundle_version bigint,
    ADD COLUMN contained_at timestamptz,
    ADD COLUMN propagated_at timestamptz,
    ADD COLUMN recovered_at timestamptz;
ALTER TABLE incidents ALTER COLUMN playbook_document DROP DEFAULT;
CREATE INDEX incidents_opened ON incidents (opened_at DESC);

ALTER TABLE incident_steps
    ADD COLUMN override_reason text,
    ADD COLUMN ticked integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN requested_at timestamptz,
    ADD COLUMN approved_at timestamptz,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    -- An emergency override skips an approval and must say why.
    ADD CONSTRAINT incident_steps_override_reason
        CHECK (override_reason IS NULL OR (status = 'skipped' AND length(btrim(override_reason)) > 0));

-- Comments on an incident or one of its steps: the running conversation of the response.
CREATE TABLE incident_comments (
    id          uuid PRIMARY KEY,
    incident_id uuid NOT NULL REFERENCES incidents (id),
    step_id     text,
    author      text NOT NULL,
    body        text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 10000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_comments_incident ON incident_comments (incident_id, created_at);

-- When a cluster first reported the bundle version it runs now: how long a revocation took to
-- reach it (propagation) is measured by this, not by its latest heartbeat.
ALTER TABLE clusters ADD COLUMN bundle_acknowledged_at timestamptz;
UPDATE clusters SET bundle_acknowledged_at = last_report_at WHERE bundle_version IS NOT NULL;

-- An incident's review reads its audit entries by target.
CREATE INDEX audit_log_target ON audit_log (target, seq);

-- An incident's notification to each configured webhook, delivered at least once like alerts
-- (`alert_deliveries`): webhooks are named by the SHA-256 of their URL, never stored.
CREATE TABLE incident_notifications (
    incident_id      uuid NOT NULL REFERENCES incidents (id),
    webhook          text NOT NULL CHECK (webhook ~ '^[0-9a-f]{64}$'),
    webhook_origin   text NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    delivered_at     timestamptz,
    PRIMARY KEY (incident_id, webhook)
);
CREATE INDEX incident_notifications_due ON incident_notifications (next_attempt_at)
    WHERE state = 'pending';
