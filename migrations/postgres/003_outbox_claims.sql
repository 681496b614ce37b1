-- 3 (SQLite 12): outbox claims (issue 17): a sender marks the rows it takes (FOR UPDATE SKIP LOCKED) as
-- claimed by it until a lease ends, so the other nodes' senders skip them; a dead sender's rows are due
-- again when its lease ends. claim is a random token per claim: a sender whose lease was taken over
-- cannot delete or reschedule the new holder's row.
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;
ALTER TABLE outbox ADD COLUMN claim TEXT;
