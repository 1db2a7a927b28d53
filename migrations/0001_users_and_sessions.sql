-- People who use Payfriend, and their signed-in sessions.
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
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);
