-- after migration 15 fb3e08563b00fe9f: the schema every migration makes on SQLite, then the rows they insert.
-- Written by the test the_sqlite_schema_file_is_what_the_migrations_make
-- (PAYFRIEND_WRITE_SQLITE_SCHEMA=1); not to be edited.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    phone_e164 TEXT NOT NULL UNIQUE,
    country_code TEXT NOT NULL,
    national_number TEXT NOT NULL,
    verify_via TEXT NOT NULL,
    phone_verified_at BIGINT,
    authy_id BIGINT,
    created_at BIGINT NOT NULL
, verify_attempts BIGINT NOT NULL DEFAULT 0, push_gate BIGINT NOT NULL DEFAULT 0, passkey_code_attempts BIGINT NOT NULL DEFAULT 0, provider TEXT NOT NULL DEFAULT 'authy', verification_sid TEXT, push_factor_sid TEXT, pending_phone_e164 TEXT);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE TABLE sandbox_users (
    authy_id BIGINT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    phone_e164 TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE sandbox_verifications (
    phone_e164 TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE sandbox_messages (
    id TEXT PRIMARY KEY NOT NULL,
    phone_e164 TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_messages_phone ON sandbox_messages (phone_e164, created_at);
CREATE TABLE sandbox_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    authy_id BIGINT NOT NULL,
    code TEXT NOT NULL,
    action TEXT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_tokens_user ON sandbox_tokens (authy_id, code);
CREATE TABLE sandbox_approvals (
    uuid TEXT PRIMARY KEY NOT NULL,
    authy_id BIGINT NOT NULL,
    message TEXT NOT NULL,
    details_json TEXT NOT NULL,
    hidden_details_json TEXT NOT NULL,
    logos_json TEXT NOT NULL,
    status TEXT NOT NULL,
    seconds_to_expire BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    processed_at BIGINT
, created_at_ms BIGINT NOT NULL DEFAULT 0);
CREATE INDEX sandbox_approvals_user ON sandbox_approvals (authy_id, created_at);
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
    created_at BIGINT NOT NULL, reconcile_after BIGINT NOT NULL DEFAULT 0, push_requests INTEGER NOT NULL DEFAULT 1, sms_wrong_codes BIGINT NOT NULL DEFAULT 0, verification_sid TEXT,
    UNIQUE (user_id, idempotency_key)
);
CREATE TABLE callback_nonces (
    nonce TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (nonce, signature)
);
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
, last_at BIGINT);
CREATE TABLE code_sends (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT,
    phone_e164 TEXT NOT NULL,
    at BIGINT NOT NULL
, weight BIGINT NOT NULL DEFAULT 1, unverified INTEGER NOT NULL DEFAULT 0);
CREATE INDEX code_sends_phone ON code_sends (phone_e164, at);
CREATE INDEX code_sends_user ON code_sends (user_id, at);
CREATE TABLE code_send_gate (
    id BIGINT PRIMARY KEY NOT NULL,
    sends BIGINT NOT NULL
);
CREATE INDEX code_sends_at ON code_sends (at);
CREATE INDEX users_unverified ON users (phone_verified_at, created_at);
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    held_until BIGINT NOT NULL
);
CREATE INDEX payments_user_created_id ON payments (user_id, created_at, id);
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    -- The credential id as the authenticator gave it (base64url): one account each.
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- webauthn-rs' Passkey (public key, algorithm, counter), as JSON.
    credential TEXT NOT NULL,
    -- The highest signature counter seen: an assertion must carry a higher one (or both
    -- are 0, for authenticators without a counter).
    sign_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);
CREATE TABLE passkey_challenges (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    -- 'add' (registering a passkey) or 'approve' (approving one payment).
    purpose TEXT NOT NULL,
    -- For 'add': the name the passkey will get.
    name TEXT,
    -- For 'approve': the payment and what the person was shown of it.
    payment_id TEXT REFERENCES payments (id),
    payee TEXT,
    amount_cents BIGINT,
    currency TEXT,
    -- webauthn-rs' registration or authentication state, as JSON.
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);
CREATE TABLE push_sends (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX push_sends_user_at ON push_sends (user_id, at);
CREATE INDEX payments_user_denied ON payments (user_id, decided_at) WHERE status = 'denied';
CREATE TABLE verify_events (
    token TEXT PRIMARY KEY NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX verify_events_received ON verify_events (received_at);
CREATE TABLE sandbox_verify_verifications (
    sid TEXT PRIMARY KEY NOT NULL,
    service_sid TEXT NOT NULL,
    to_e164 TEXT NOT NULL,
    channel TEXT NOT NULL,
    code TEXT NOT NULL,
    status TEXT NOT NULL,
    amount TEXT,
    payee TEXT,
    sends BIGINT NOT NULL,
    checks BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sandbox_verify_verifications_to ON sandbox_verify_verifications (service_sid, to_e164, status);
CREATE TABLE sandbox_verify_factors (
    sid TEXT PRIMARY KEY NOT NULL,
    service_sid TEXT NOT NULL,
    identity TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    status TEXT NOT NULL,
    -- The sandbox handset (phone page) that holds the factor.
    phone_e164 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_verify_factors_identity ON sandbox_verify_factors (service_sid, identity);
CREATE INDEX sandbox_verify_factors_phone ON sandbox_verify_factors (phone_e164);
CREATE TABLE sandbox_verify_challenges (
    sid TEXT PRIMARY KEY NOT NULL,
    service_sid TEXT NOT NULL,
    identity TEXT NOT NULL,
    factor_sid TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    fields_json TEXT NOT NULL,
    hidden_json TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    responded_at BIGINT
);
CREATE INDEX sandbox_verify_challenges_factor ON sandbox_verify_challenges (factor_sid, created_at_ms);
CREATE TABLE sandbox_verify_access_tokens (
    sid TEXT PRIMARY KEY NOT NULL,
    service_sid TEXT NOT NULL,
    identity TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    factor_friendly_name TEXT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE sandbox_verify_webhooks (
    sid TEXT PRIMARY KEY NOT NULL,
    service_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    event_types TEXT NOT NULL,
    webhook_url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE sandbox_verify_services (
    sid TEXT PRIMARY KEY NOT NULL,
    friendly_name TEXT NOT NULL,
    code_length BIGINT NOT NULL,
    psd2_enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX payments_user_undecided ON payments (user_id, expires_at) WHERE decided_at IS NULL;
CREATE INDEX payments_undecided_expiry ON payments (expires_at) WHERE decided_at IS NULL;
INSERT INTO code_send_gate (id, sends) VALUES (1, 0);
