-- Guessing and pumping limits that hold under concurrency.
--
-- Checks of the current phone verification code (the count starts again with each code
-- sent); at most five per code.
ALTER TABLE users ADD COLUMN verify_attempts BIGINT NOT NULL DEFAULT 0;

-- One row that every code send updates first: the update serialises sends, so the limit
-- checks and the record of the send that follow in the same transaction cannot interleave
-- (on SQLite and on PostgreSQL alike).
CREATE TABLE code_send_gate (
    id BIGINT PRIMARY KEY NOT NULL,
    sends BIGINT NOT NULL
);
INSERT INTO code_send_gate (id, sends) VALUES (1, 0);

CREATE INDEX code_sends_at ON code_sends (at);
CREATE INDEX users_unverified ON users (phone_verified_at, created_at);
