-- The sandbox phone lists approval requests newest first; requests made within the same
-- second (a payment sent to the phone again at once) keep their order by milliseconds.
ALTER TABLE sandbox_approvals ADD COLUMN created_at_ms BIGINT NOT NULL DEFAULT 0;
