-- 2: accounts, their third-party IDs, devices (one authToken each) and sudo tokens (contract §4–5).
-- Uniqueness lives in indexes, so two concurrent registrations of one name cannot both succeed.
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  username TEXT UNIQUE,
  user_id TEXT NOT NULL UNIQUE,
  password_hash TEXT,
  status TEXT NOT NULL CHECK (status IN ('active', 'pending', 'disabled')),
  profile TEXT NOT NULL DEFAULT '{}',
  failed_logins INTEGER NOT NULL DEFAULT 0,
  login_blocked_until INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE thirdpids (
  medium TEXT NOT NULL CHECK (medium IN ('email', 'msisdn')),
  address TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  verified INTEGER NOT NULL DEFAULT 0,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (medium, address)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX thirdpids_one_per_medium ON thirdpids (account_id, medium);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  token_hash BLOB NOT NULL UNIQUE,
  name TEXT NOT NULL,
  push_token TEXT,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  last_ip TEXT
) STRICT;
CREATE INDEX devices_by_account ON devices (account_id);
CREATE TABLE sudo_tokens (
  token_hash BLOB PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  device_id TEXT NOT NULL,
  used_for TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sudo_tokens_by_expiry ON sudo_tokens (expires_at);
