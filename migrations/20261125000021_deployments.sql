-- Time to deploy, kept ready: each signed digest's first recorded signing and its first
-- admission at or after it. Working it out for a page meant one index probe per digest signed in
-- the range (1.5 s for a week of a large fleet, measured with `scripts/bench pages`); maintenance
-- now resolves each digest once and the Trends page reads a row per digest.
CREATE TABLE deployments (
    digest       text PRIMARY KEY,
    signed_at    timestamptz NOT NULL,
    -- The first admission of the digest at or after `signed_at`; NULL while there is none.
    admitted_at  timestamptz
);
CREATE INDEX deployments_signed_at ON deployments (signed_at);
-- The digests still waiting for their first admission, for maintenance's next look.
CREATE INDEX deployments_waiting ON deployments (signed_at) WHERE admitted_at IS NULL;
