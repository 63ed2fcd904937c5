-- Alerts raised by the rules in domain::alert (see service::alerts), and their delivery to the
-- configured webhooks.
CREATE TABLE alerts (
    id               uuid PRIMARY KEY,
    rule             text NOT NULL CHECK (rule IN ('new_signer', 'off_hours_signing',
                         'signing_volume_spike', 'revoked_key_use', 'rejection_rate_jump',
                         'cluster_silent', 'trust_bundle_behind')),
    severity         text NOT NULL CHECK (severity IN ('critical', 'high', 'medium')),
    subject_kind     text NOT NULL CHECK (subject_kind IN ('key', 'cluster')),
    -- The key's fingerprint or the cluster's name, and what people call it.
    subject          text NOT NULL,
    subject_label    text NOT NULL,
    -- Rule, subject and scope (domain::alert::Finding::dedupe_scope); for sliding-window rules
    -- with the start of the episode appended. The same condition seen again updates its alert.
    dedupe_scope     text NOT NULL,
    dedupe_key       text NOT NULL UNIQUE,
    summary          text NOT NULL,
    facts            jsonb NOT NULL,
    first_seen_at    timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    acknowledge_note text,
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
);
-- The page: open alerts first, newest first.
CREATE INDEX alerts_open_newest ON alerts ((acknowledged_at IS NULL) DESC, last_seen_at DESC);
-- Episodes of sliding-window rules: the newest alert of a condition.
CREATE INDEX alerts_dedupe_scope ON alerts (dedupe_scope, last_seen_at DESC);
-- A key's page and a cluster's page list their alerts.
CREATE INDEX alerts_subject ON alerts (subject_kind, subject, last_seen_at DESC);

-- One row per alert and webhook, written in the transaction that raises the alert, so an alert
-- is never lost between being raised and being sent, and one delivered is never sent again
-- after a restart. Webhooks are named by the SHA-256 of their URL: URLs often carry a secret
-- (Slack's do), and the database is no place for it.
CREATE TABLE alert_deliveries (
    alert_id         uuid NOT NULL REFERENCES alerts (id),
    webhook          text NOT NULL CHECK (webhook ~ '^[0-9a-f]{64}$'),
    -- Scheme, host and port only, for people.
    webhook_origin   text NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- While pending: not before this time (backoff, or a sender's lease).
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    delivered_at     timestamptz,
    PRIMARY KEY (alert_id, webhook)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
