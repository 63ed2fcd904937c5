-- Signing keys: public halves only. Private keys never reach Trustwatch's database.
CREATE TABLE keys (
    id                    uuid PRIMARY KEY,
    name                  text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    -- sha256:<hex of the SHA-256 of the SPKI DER>
    fingerprint           text NOT NULL UNIQUE CHECK (fingerprint ~ '^sha256:[0-9a-f]{64}$'),
    algorithm             text NOT NULL CHECK (algorithm IN ('ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa')),
    public_key_pem        text NOT NULL,
    owner_team            text NOT NULL,
    custody               text NOT NULL CHECK (custody IN ('file', 'kms', 'hsm')),
    custody_uri           text,
    status                text NOT NULL DEFAULT 'active'
                              CHECK (status IN ('active', 'retiring', 'revoked', 'compromised')),
    valid_from            timestamptz NOT NULL,
    valid_until           timestamptz,
    rotation_period_days  integer CHECK (rotation_period_days > 0),
    compromised_since     timestamptz,
    revoked_at            timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'compromised' OR compromised_since IS NOT NULL),
    CHECK (valid_until IS NULL OR valid_until > valid_from)
);
CREATE INDEX keys_owner_team ON keys (owner_team);
