-- 6: who asked for a code (the account, else the client IP): a new request replaces only the same
-- requester's live code for that destination and purpose, so one requester cannot kill another's.
ALTER TABLE verification_codes ADD COLUMN requester TEXT NOT NULL DEFAULT '';
DROP INDEX verification_codes_one_live;
CREATE UNIQUE INDEX verification_codes_one_live ON verification_codes (medium, address, purpose, requester);
