-- Limits on push requests per user (push bombing): every push approval request sent (a new
-- payment's and each "Resend to my phone"), for the hourly limit per user, counted here
-- so that it spans instances.
CREATE TABLE push_sends (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX push_sends_user_at ON push_sends (user_id, at);

-- Updated first by every new payment and push resend of the user, in the transaction that
-- checks the limits: concurrent sends of one user are checked one after the other (SQLite
-- takes its write lock at that update, PostgreSQL the row's lock).
ALTER TABLE users ADD COLUMN push_gate BIGINT NOT NULL DEFAULT 0;

-- A user's waiting payments (at most MAX_PENDING_PAYMENTS), and their denials (a denial
-- after the session's sign-in asks for a fresh one before the next payment).
CREATE INDEX payments_user_pending ON payments (user_id, expires_at) WHERE status = 'pending';
CREATE INDEX payments_user_denied ON payments (user_id, decided_at) WHERE status = 'denied';

-- When an email's last sign-in attempt was counted: a row whose lock has ended and whose
-- last attempt is older than LOGIN_LOCK_SECS is forgotten by the sweep (failures in a
-- row start again after that long without one), so emails that never sign in do not
-- fill the table.
ALTER TABLE login_throttle ADD COLUMN last_at BIGINT;

-- One counter per code: checks of the code that adds a passkey, apart from the phone
-- verification code's (`verify_attempts`), so that a new code of one purpose never buys
-- more guesses at the other.
ALTER TABLE users ADD COLUMN passkey_code_attempts BIGINT NOT NULL DEFAULT 0;

-- Budgets for codes: sends for people without a verified phone (registration and its
-- resends) have an hourly budget of their own, so strangers cannot use up the one that
-- verified people's payment codes draw from; a voice call weighs two SMS.
ALTER TABLE code_sends ADD COLUMN weight BIGINT NOT NULL DEFAULT 1;
ALTER TABLE code_sends ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;

-- A payment's SMS code: `sms_failed_attempts` counts the checks taken (reserved before the
-- provider is asked, at most five); this counts the wrong answers among them. The fifth
-- wrong answer fails the payment, so a right code among the five checked always approves
-- it, however the checks interleave.
ALTER TABLE payments ADD COLUMN sms_wrong_codes BIGINT NOT NULL DEFAULT 0;
