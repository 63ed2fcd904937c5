-- The `admin` token scope: machine access to the administrative APIs (keys, key groups, policies),
-- used by `trustwatch keys …` and `trustwatch policy …` with --server.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scopes_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scopes_check CHECK (cardinality(scopes) > 0
    AND scopes <@ ARRAY['ingest:verification', 'ingest:signing', 'read', 'admin']::text[]);
