-- State of the built-in Authy sandbox: its users, pending phone verifications, the
-- messages it "sent", SMS tokens and push approval requests.
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
);

CREATE INDEX sandbox_approvals_user ON sandbox_approvals (authy_id, created_at);
