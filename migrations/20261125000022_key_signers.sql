-- Who signs with each key, and how much per day, kept by the statement that stores signing
-- events. The key page read them from the raw events: 0.5 s for a key with 140,000 signatures
-- (`scripts/bench pages`); these tables hold one row per key, identity and host, and one per
-- key, day and identity.
CREATE TABLE key_signers (
    key_fingerprint  text NOT NULL,
    signer_identity  text NOT NULL,
    -- '' when the signer did not say (a primary key cannot hold NULL).
    signer_host      text NOT NULL,
    signatures       bigint NOT NULL,
    first_seen       timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    PRIMARY KEY (key_fingerprint, signer_identity, signer_host)
);
CREATE INDEX key_signers_recent ON key_signers (key_fingerprint, last_seen DESC);

CREATE TABLE key_signing_daily (
    key_fingerprint  text NOT NULL,
    day              date NOT NULL,
    signer_identity  text NOT NULL,
    signatures       bigint NOT NULL,
    PRIMARY KEY (key_fingerprint, day, signer_identity)
);

INSERT INTO key_signers
SELECT key_fingerprint, signer_identity, coalesce(signer_host, ''), count(*), min(recorded_at), max(recorded_at)
  FROM signing_events GROUP BY 1, 2, 3;
INSERT INTO key_signing_daily
SELECT key_fingerprint, (recorded_at AT TIME ZONE 'UTC')::date, signer_identity, count(*)
  FROM signing_events GROUP BY 1, 2, 3;
