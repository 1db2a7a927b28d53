-- A phone number is held only by a verified account (phone squatting). An account not
-- verified yet keeps the number it asks to verify in `pending_phone_e164`; its
-- `phone_e164` (UNIQUE) holds a placeholder of its own until the phone is verified, when
-- the number moves there in one update: the first account to verify a number keeps it,
-- and any other is refused by the constraint.
ALTER TABLE users ADD COLUMN pending_phone_e164 TEXT;
UPDATE users SET pending_phone_e164 = phone_e164, phone_e164 = 'unverified:' || id
    WHERE phone_verified_at IS NULL;
