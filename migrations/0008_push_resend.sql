-- How many push approval requests a payment has had (the first, and each "Resend to my
-- phone"): at most 3. Only the newest one's uuid is kept, so an answer to an older one
-- no longer counts.
ALTER TABLE payments ADD COLUMN push_requests INTEGER NOT NULL DEFAULT 1;
