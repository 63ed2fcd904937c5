-- Key usage reported by CI and signers. `recorded_at` is stamped by Trustwatch and is the trusted
-- time ("signed after compromise" is decided on it); `claimed_at` is what the signer said.
CREATE TABLE signing_events (
    id               uuid PRIMARY KEY,
    key_fingerprint  text NOT NULL CHECK (key_fingerprint ~ '^sha256:[0-9a-f]{64}$'),
    image            text NOT NULL,
    repository       text NOT NULL,
    digest           text NOT NULL CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
    signer_identity  text NOT NULL,
    signer_host      text,
    payload          bytea,
    signature        bytea,
    claimed_at       timestamptz,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
-- Key page and blast radius: what did key K sign, in time order.
CREATE INDEX signing_events_key_recorded ON signing_events (key_fingerprint, recorded_at DESC);
-- Image page and verification fallback: every signature of a digest.
CREATE INDEX signing_events_digest ON signing_events (digest);
CREATE INDEX signing_events_repository ON signing_events (repository, recorded_at DESC);
