-- Tokens for machines (clusters, CI signers, readers). Only the SHA-256 of the token is stored:
-- the token is a 256-bit random value, so a fast hash is enough and lookups stay O(1).
CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    token_hash    bytea NOT NULL UNIQUE,
    -- The first characters of the token, to recognise it in a list without revealing it.
    token_prefix  text NOT NULL,
    scopes        text[] NOT NULL CHECK (cardinality(scopes) > 0
                      AND scopes <@ ARRAY['ingest:verification', 'ingest:signing', 'read']::text[]),
    -- When set, the token may only report for this cluster.
    cluster_id    uuid REFERENCES clusters (id),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
