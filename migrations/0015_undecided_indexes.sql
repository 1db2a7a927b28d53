-- The payments still waiting for an answer, indexed by the condition only they meet
-- (`decided_at` is set by every way out of `pending`) instead of by their status.
--
-- A statement about one payment ("this id, if still pending") states its status and
-- never `decided_at IS NULL`, so the planner cannot take these indexes for it. With the
-- old ones it could: PostgreSQL sizes a partial index from its last VACUUM, and one taken
-- when nothing was pending makes a walk of every pending payment look cheaper than the
-- unique key's lookup (the bench saw a callback read 2,700 index entries to decide one
-- payment). Deciding a payment also no longer adds an entry to an index of all payments
-- by status: a decided one is in neither index.
DROP INDEX payments_user_pending;
DROP INDEX payments_pending_expiry;
CREATE INDEX payments_user_undecided ON payments (user_id, expires_at) WHERE decided_at IS NULL;
CREATE INDEX payments_undecided_expiry ON payments (expires_at) WHERE decided_at IS NULL;
