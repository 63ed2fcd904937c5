-- The clusters that report to Trustwatch.
CREATE TABLE clusters (
    id               uuid PRIMARY KEY,
    name             text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$'),
    environment      text NOT NULL DEFAULT 'unknown',
    -- The admission engine that enforces signatures there, as last reported.
    engine           text,
    enforcement_mode text CHECK (enforcement_mode IN ('enforce', 'warn', 'audit')),
    -- The trust-bundle version the cluster last said it runs (revocation reach is measured by it).
    bundle_version   bigint,
    registered_at    timestamptz NOT NULL DEFAULT now(),
    last_report_at   timestamptz
);
