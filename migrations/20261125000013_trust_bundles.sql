-- The signed trust bundles, one row per published version (see domain::trust_bundle and
-- service::trust_bundle). Every change to keys, key groups or policies inserts the next version
-- in the same transaction as the change, so the newest row always describes the committed state.
CREATE TABLE trust_bundles (
    version          bigint PRIMARY KEY CHECK (version > 0),
    issued_at        timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    -- The bundle's canonical JSON exactly as signed (text, not jsonb: jsonb would reorder and
    -- re-encode it, and the signature covers these bytes).
    document         text NOT NULL,
    -- SHA-256 of `document`, hex; the ETag is built from it and the version.
    digest           text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    -- Base64 Ed25519 signature over `document`, and the fingerprint of the bundle key that made it.
    signature        text NOT NULL,
    key_fingerprint  text NOT NULL CHECK (key_fingerprint ~ '^sha256:[0-9a-f]{64}$'),
    default_action   text NOT NULL CHECK (default_action IN ('deny', 'warn', 'allow')),
    -- Who or what caused this version (`user:…`, `token:…`, `cli`, `server`), and why.
    published_by     text NOT NULL,
    reason           text NOT NULL,
    CHECK (expires_at > issued_at)
);

-- Published versions are history: clusters report the version they run, and an incident review
-- must be able to show exactly what that version said.
CREATE FUNCTION trust_bundles_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trust_bundles is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER trust_bundles_append_only
    BEFORE UPDATE OR DELETE ON trust_bundles
    FOR EACH ROW EXECUTE FUNCTION trust_bundles_refuse_change();

-- Key groups are named like policies (a DNS label, as domain::policy validates), and both record
-- who last changed them; policies already have their timestamps.
ALTER TABLE key_groups
    ADD CONSTRAINT key_groups_name_check CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    ADD COLUMN created_by text NOT NULL DEFAULT 'unknown',
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_by text NOT NULL DEFAULT 'unknown',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE key_groups ALTER COLUMN created_by DROP DEFAULT, ALTER COLUMN updated_by DROP DEFAULT;
ALTER TABLE policies ADD COLUMN updated_by text NOT NULL DEFAULT 'unknown';
ALTER TABLE policies ALTER COLUMN updated_by DROP DEFAULT;
-- Members in the order the document lists them, so an export writes back what was applied.
ALTER TABLE key_group_members ADD COLUMN position integer NOT NULL DEFAULT 0;
