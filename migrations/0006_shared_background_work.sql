-- Background work shared by several instances on one database.
--
-- A pending payment is asked about (reconciled) by one instance at a time: an instance
-- claims it by moving `reconcile_after` into the future in the same UPDATE that selects it,
-- so another instance's claim, made at the same moment, finds it taken.
ALTER TABLE payments ADD COLUMN reconcile_after BIGINT NOT NULL DEFAULT 0;

-- Leases for jobs that one instance should run at a time (clean-up): the instance that
-- moves `held_until` past now holds the job until then.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    held_until BIGINT NOT NULL
);
