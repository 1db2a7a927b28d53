-- Payments and the callback nonces already accepted (replay protection).
CREATE TABLE payments (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    payee TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    approval_uuid TEXT UNIQUE,
    failure_reason TEXT,
    decided_via TEXT,
    decided_at BIGINT,
    sms_sent_at BIGINT,
    sms_failed_attempts BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, idempotency_key)
);

CREATE INDEX payments_user_created ON payments (user_id, created_at);
CREATE INDEX payments_pending_expiry ON payments (status, expires_at);

CREATE TABLE callback_nonces (
    nonce TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (nonce, signature)
);
