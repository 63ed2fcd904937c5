-- One run of a playbook. The playbook version is kept so a later edit of the file does not
-- change a running incident.
CREATE TABLE incidents (
    id                uuid PRIMARY KEY,
    playbook          text NOT NULL,
    playbook_version  text NOT NULL,
    title             text NOT NULL,
    severity          text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'contained', 'recovered', 'closed')),
    key_id            uuid REFERENCES keys (id),
    commander         text NOT NULL,
    opened_by         text NOT NULL,
    opened_at         timestamptz NOT NULL DEFAULT now(),
    closed_at         timestamptz,
    review            text
);
CREATE INDEX incidents_open ON incidents (opened_at DESC) WHERE status <> 'closed';

CREATE TABLE incident_steps (
    incident_id  uuid NOT NULL REFERENCES incidents (id),
    step_id      text NOT NULL,
    status       text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'requested', 'approved', 'done', 'skipped')),
    requested_by text,
    approved_by  text,
    done_by      text,
    done_at      timestamptz,
    data         jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (incident_id, step_id),
    -- Two-person rule, enforced where no application bug can bypass it.
    CHECK (approved_by IS NULL OR approved_by <> requested_by)
);
