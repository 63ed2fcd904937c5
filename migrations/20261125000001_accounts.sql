-- People who log in to the UI. Passwords are argon2id PHC strings; nothing else about them is kept.
CREATE TABLE users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('viewer', 'developer', 'security', 'admin', 'auditor')),
    disabled       boolean NOT NULL DEFAULT false,
    -- Set for generated one-time passwords: the first login must choose a new one.
    must_change_password boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz
);

-- Every login attempt, kept for throttling (per account and per address) and for forensics.
CREATE TABLE login_attempts (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL,
    source_ip  text NOT NULL,
    succeeded  boolean NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email_at ON login_attempts (email, at DESC) WHERE NOT succeeded;
CREATE INDEX login_attempts_ip_at ON login_attempts (source_ip, at DESC) WHERE NOT succeeded;
