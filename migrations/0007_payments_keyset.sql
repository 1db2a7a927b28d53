-- My payments pages by position (created_at, id), not by offset: one index seek per page
-- however many payments there are.
CREATE INDEX payments_user_created_id ON payments (user_id, created_at, id);
DROP INDEX payments_user_created;
