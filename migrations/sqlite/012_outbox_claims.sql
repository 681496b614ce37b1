-- 12: outbox claims (issue 17): a sender marks the rows it takes as claimed by it until a lease ends,
-- atomically, so concurrent senders (other handles, other nodes) skip them; a sender that dies holding a
-- claim leaves rows that are due again when the lease ends. claim is a random token per claim, so a
-- sender whose lease was taken over cannot delete or reschedule the new holder's row.
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
ALTER TABLE outbox ADD COLUMN claim TEXT;
