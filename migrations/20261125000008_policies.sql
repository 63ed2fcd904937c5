-- Verification policies. The document is the policy-as-code form (docs/policy.md); the columns
-- beside it are what lists and lookups need without parsing it.
CREATE TABLE policies (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    mode        text NOT NULL CHECK (mode IN ('enforce', 'warn', 'audit')),
    document    jsonb NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Named sets of keys a policy can trust as one authority.
CREATE TABLE key_groups (
    id    uuid PRIMARY KEY,
    name  text NOT NULL UNIQUE
);
CREATE TABLE key_group_members (
    group_id uuid NOT NULL REFERENCES key_groups (id) ON DELETE CASCADE,
    key_id   uuid NOT NULL REFERENCES keys (id),
    PRIMARY KEY (group_id, key_id)
);
