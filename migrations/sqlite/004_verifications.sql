-- 4: one-time codes (one live code per destination and purpose: a new request replaces it) and the
-- single-use verification tokens a correct code is traded for.
CREATE TABLE verification_codes (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  medium TEXT NOT NULL CHECK (medium IN ('email', 'msisdn')),
  address TEXT NOT NULL,
  account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
  code_hash BLOB NOT NULL,
  attempts_left INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX verification_codes_one_live ON verification_codes (medium, address, purpose);
CREATE TABLE verification_tokens (
  token_hash BLOB PRIMARY KEY,
  purpose TEXT NOT NULL,
  medium TEXT NOT NULL,
  address TEXT NOT NULL,
  account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX verification_codes_by_expiry ON verification_codes (expires_at);
CREATE INDEX verification_tokens_by_expiry ON verification_tokens (expires_at);
-- Deleting an account cascades here; without these each delete would scan both tables.
CREATE INDEX verification_codes_by_account ON verification_codes (account_id);
CREATE INDEX verification_tokens_by_account ON verification_tokens (account_id);
-- Consecutive wrong codes against an account and when the last one came (the code lock, NIST 800-63B §5.2.2).
ALTER TABLE accounts ADD COLUMN failed_codes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN failed_code_at INTEGER NOT NULL DEFAULT 0;
-- Pending accounts are purged by age (registration.pendingTtl); the partial index keeps that sweep cheap.
CREATE INDEX accounts_pending ON accounts (created_at) WHERE status = 'pending';
