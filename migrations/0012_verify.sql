-- Twilio Verify v2 as a second provider.
--
-- Which provider an account was registered (and its phone verified) with: `authy` or
-- `verify`. Existing accounts are Authy's and keep it when an operator switches.
ALTER TABLE users ADD COLUMN provider TEXT NOT NULL DEFAULT 'authy';
-- Verify keeps one pending verification per phone number and sends the same code again
-- to it: the SID of the user's newest one, cancelled before a code for anything else.
ALTER TABLE users ADD COLUMN verification_sid TEXT;
-- The user's verified Verify Push factor (`YF...`), once `factor.verified` arrived.
ALTER TABLE users ADD COLUMN push_factor_sid TEXT;
-- The Verify verification a payment's SMS code belongs to (checked by this SID).
ALTER TABLE payments ADD COLUMN verification_sid TEXT;

-- Verify events already handled, by `I-Twilio-Idempotency-Token` (Twilio's retries of one
-- delivery carry the same token).
CREATE TABLE verify_events (
    token TEXT PRIMARY KEY NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX verify_events_received ON verify_events (received_at);

-- The built-in sandbox's Verify v2 state: verifications (codes), push factors, challenges,
-- access tokens and webhooks, per Verify service.
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
