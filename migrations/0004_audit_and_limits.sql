-- Security-relevant events, failed sign-ins per email, and codes sent (for rate limits).
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    user_id TEXT,
    payment_id TEXT,
    ip TEXT,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE INDEX audit_events_payment ON audit_events (payment_id, at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);

CREATE TABLE login_throttle (
    email TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    locked_until BIGINT
);

CREATE TABLE code_sends (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT,
    phone_e164 TEXT NOT NULL,
    at BIGINT NOT NULL
);

CREATE INDEX code_sends_phone ON code_sends (phone_e164, at);
CREATE INDEX code_sends_user ON code_sends (user_id, at);
