-- The schema SQLite reaches at migrations/sqlite/010 (user_version 10), in one step: a PostgreSQL
-- database has no older Hafnium history to carry. Later changes get numbered files in both directories.
-- Times are milliseconds since the epoch (BIGINT); flags are 0/1 integers as in SQLite, so the two
-- stores read alike. Uniqueness lives in constraints: two concurrent registrations of one name cannot
-- both commit (the loser gets unique_violation, 23505, which the store maps to its typed conflict).

CREATE TABLE hafnium_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE rate_buckets (
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,
  tokens DOUBLE PRECISION NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (rule, subject)
);

CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  username TEXT UNIQUE,
  user_id TEXT NOT NULL UNIQUE,
  password_hash TEXT,
  status TEXT NOT NULL CHECK (status IN ('active', 'pending', 'disabled')),
  profile TEXT NOT NULL DEFAULT '{}',
  failed_logins INTEGER NOT NULL DEFAULT 0,
  login_blocked_until BIGINT NOT NULL DEFAULT 0,
  failed_codes INTEGER NOT NULL DEFAULT 0,
  failed_code_at BIGINT NOT NULL DEFAULT 0,
  credentials_epoch INTEGER NOT NULL DEFAULT 0,
  guest INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX accounts_pending ON accounts (created_at) WHERE status = 'pending';
CREATE INDEX accounts_guests ON accounts (created_at) WHERE guest = 1;

CREATE TABLE thirdpids (
  medium TEXT NOT NULL CHECK (medium IN ('email', 'msisdn')),
  address TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  verified INTEGER NOT NULL DEFAULT 0,
  added_at BIGINT NOT NULL,
  PRIMARY KEY (medium, address)
);
CREATE UNIQUE INDEX thirdpids_one_per_medium ON thirdpids (account_id, medium);

CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  token_hash BYTEA NOT NULL UNIQUE,
  name TEXT NOT NULL,
  push_token TEXT,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  last_ip TEXT,
  prev_token_hash BYTEA,
  prev_retired_at BIGINT
);
CREATE INDEX devices_by_account ON devices (account_id);
CREATE UNIQUE INDEX devices_by_prev_token ON devices (prev_token_hash) WHERE prev_token_hash IS NOT NULL;
CREATE INDEX devices_by_last_seen ON devices (last_seen_at);
CREATE INDEX devices_by_created ON devices (created_at);

CREATE TABLE sudo_tokens (
  token_hash BYTEA PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  used_for TEXT NOT NULL DEFAULT '',
  expires_at BIGINT NOT NULL
);
CREATE INDEX sudo_tokens_by_expiry ON sudo_tokens (expires_at);
CREATE INDEX sudo_tokens_by_device ON sudo_tokens (device_id);
CREATE INDEX sudo_tokens_by_account ON sudo_tokens (account_id);

-- The delivery outbox; sealed (AES-256-GCM) under the outbox key, which is not in the database.
CREATE TABLE outbox (
  id BIGSERIAL PRIMARY KEY,
  channel TEXT NOT NULL CHECK (channel IN ('email', 'msisdn')),
  sealed BYTEA NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  last_error TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);

CREATE TABLE verification_codes (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  medium TEXT NOT NULL CHECK (medium IN ('email', 'msisdn')),
  address TEXT NOT NULL,
  account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
  requester TEXT NOT NULL DEFAULT '',
  code_hash BYTEA NOT NULL,
  attempts_left INTEGER NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX verification_codes_one_live ON verification_codes (medium, address, purpose, requester);
CREATE INDEX verification_codes_by_expiry ON verification_codes (expires_at);
CREATE INDEX verification_codes_by_account ON verification_codes (account_id);

CREATE TABLE verification_tokens (
  token_hash BYTEA PRIMARY KEY,
  purpose TEXT NOT NULL,
  medium TEXT NOT NULL,
  address TEXT NOT NULL,
  account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
  expires_at BIGINT NOT NULL
);
CREATE INDEX verification_tokens_by_expiry ON verification_tokens (expires_at);
CREATE INDEX verification_tokens_by_account ON verification_tokens (account_id);

CREATE TABLE ticket_links (
  iss TEXT NOT NULL,
  sub TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (iss, sub)
);
CREATE INDEX ticket_links_by_account ON ticket_links (account_id);

CREATE TABLE ticket_jtis (
  iss TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (iss, jti)
);
CREATE INDEX ticket_jtis_by_expiry ON ticket_jtis (expires_at);

CREATE TABLE device_authorizations (
  id TEXT PRIMARY KEY,
  user_code_hash BYTEA NOT NULL UNIQUE,
  device_code_hash BYTEA NOT NULL UNIQUE,
  device_name TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'denied', 'delivered')),
  account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
  device_id TEXT,
  credentials_epoch INTEGER,
  last_poll_at BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX device_authorizations_by_expiry ON device_authorizations (expires_at);
CREATE INDEX device_authorizations_by_account ON device_authorizations (account_id);

CREATE TABLE captcha_spent (
  signature_hash BYTEA PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX captcha_spent_by_expiry ON captcha_spent (expires_at);
