-- Passkeys (WebAuthn credentials) a user approves payments with, and the one-time
-- challenges between the two steps of adding one or approving with one. The challenges
-- live here, not in memory, so that the second step may reach another instance.
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
