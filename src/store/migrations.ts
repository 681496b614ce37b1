// Numbered schema migrations; PRAGMA user_version records how many have run.

export const migrations: readonly string[] = [
  // 1: rate-limit buckets (contract §7). Connection-scoped buckets are never written here.
  `CREATE TABLE rate_buckets (
     rule TEXT NOT NULL,
     subject TEXT NOT NULL,
     tokens REAL NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (rule, subject)
   ) STRICT, WITHOUT ROWID;`,
  // 2: accounts, their third-party IDs, devices (one authToken each) and sudo tokens (contract §4–5).
  // Uniqueness lives in indexes, so two concurrent registrations of one name cannot both succeed.
  `CREATE TABLE accounts (
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
   CREATE INDEX sudo_tokens_by_expiry ON sudo_tokens (expires_at);`,
  // 3: the delivery outbox, written in the same transaction as the code it carries, drained by the
  // sender with retries. The message (which holds the code) is sealed with AES-256-GCM: the database
  // file alone never shows a code. next_attempt_at NULL = given up (sealed emptied, last_error kept).
  `CREATE TABLE outbox (
     id INTEGER PRIMARY KEY,
     channel TEXT NOT NULL CHECK (channel IN ('email', 'msisdn')),
     sealed BLOB NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER,
     last_error TEXT,
     created_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX outbox_due ON outbox (next_attempt_at);`,
  // 4: one-time codes (one live code per destination and purpose: a new request replaces it) and the
  // single-use verification tokens a correct code is traded for.
  `CREATE TABLE verification_codes (
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
   CREATE INDEX accounts_pending ON accounts (created_at) WHERE status = 'pending';`,
  // 5: credentials epoch and device-bound sudo tokens (issue 11). Every password change, reset,
  // deactivation and disable bumps the epoch; a login read it before argon2 and creates its device only
  // if it is unchanged, in the same transaction. Sudo tokens now die with their device (foreign key);
  // live ones are copied (those of a device already gone were dead anyway).
  `ALTER TABLE accounts ADD COLUMN credentials_epoch INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE sudo_tokens_v5 (
     token_hash BLOB PRIMARY KEY,
     account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
     device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
     used_for TEXT NOT NULL DEFAULT '',
     expires_at INTEGER NOT NULL
   ) STRICT;
   INSERT INTO sudo_tokens_v5 SELECT token_hash, account_id, device_id, used_for, expires_at FROM sudo_tokens
     WHERE device_id IN (SELECT id FROM devices);
   DROP TABLE sudo_tokens;
   ALTER TABLE sudo_tokens_v5 RENAME TO sudo_tokens;
   CREATE INDEX sudo_tokens_by_expiry ON sudo_tokens (expires_at);
   CREATE INDEX sudo_tokens_by_device ON sudo_tokens (device_id);
   CREATE INDEX sudo_tokens_by_account ON sudo_tokens (account_id);`,
  // 6: who asked for a code (the account, else the client IP): a new request replaces only the same
  // requester's live code for that destination and purpose, so one requester cannot kill another's.
  `ALTER TABLE verification_codes ADD COLUMN requester TEXT NOT NULL DEFAULT '';
   DROP INDEX verification_codes_one_live;
   CREATE UNIQUE INDEX verification_codes_one_live ON verification_codes (medium, address, purpose, requester);`,
  // 7: guests and custom sign-in tickets (issue 13). A guest account has no username, 3PID or password
  // until profile:upgrade clears the flag; idle guests are swept by age (the partial index keeps that
  // cheap). Ticket accounts are linked to their issuer's (iss, sub); a ticket's jti is kept until the
  // ticket expires, so a replay fails within its whole life, across restarts.
  `ALTER TABLE accounts ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX accounts_guests ON accounts (created_at) WHERE guest = 1;
   CREATE TABLE ticket_links (
     iss TEXT NOT NULL,
     sub TEXT NOT NULL,
     account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (iss, sub)
   ) STRICT, WITHOUT ROWID;
   CREATE INDEX ticket_links_by_account ON ticket_links (account_id);
   CREATE TABLE ticket_jtis (
     iss TEXT NOT NULL,
     jti TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (iss, jti)
   ) STRICT, WITHOUT ROWID;
   CREATE INDEX ticket_jtis_by_expiry ON ticket_jtis (expires_at);`,
  // 8: device authorization grants (contract §14, RFC 8628). Both codes are stored hashed (the user code
  // keyed, see device-authorizations.ts). The approved device is inserted only when its token is handed
  // out (device:authorized or device:authorize_poll), so no token waits anywhere; device_id is reserved at
  // approval and credentials_epoch is the approver's then, re-checked by that insert.
  `CREATE TABLE device_authorizations (
     id TEXT PRIMARY KEY,
     user_code_hash BLOB NOT NULL UNIQUE,
     device_code_hash BLOB NOT NULL UNIQUE,
     device_name TEXT NOT NULL,
     state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'denied', 'delivered')),
     account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
     device_id TEXT,
     credentials_epoch INTEGER,
     last_poll_at INTEGER NOT NULL DEFAULT 0,
     expires_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX device_authorizations_by_expiry ON device_authorizations (expires_at);
   CREATE INDEX device_authorizations_by_account ON device_authorizations (account_id);`,
  // 9: spent captcha solutions (contract §15): a solution works once, also across a restart, until its
  // challenge expires (5 minutes); the sweep deletes them after that.
  `CREATE TABLE captcha_spent (
     signature_hash BLOB PRIMARY KEY,
     expires_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX captcha_spent_by_expiry ON captcha_spent (expires_at);`,
  // 10: token rotation (contract §18, issue 19): the token a device last rotated away from (its SHA-256,
  // like the current one) and when it was retired, so a retry within the grace works and a replay after
  // it is caught. The expiry sweep selects by last_seen_at and created_at.
  `ALTER TABLE devices ADD COLUMN prev_token_hash BLOB;
   ALTER TABLE devices ADD COLUMN prev_retired_at INTEGER;
   CREATE UNIQUE INDEX devices_by_prev_token ON devices (prev_token_hash) WHERE prev_token_hash IS NOT NULL;
   CREATE INDEX devices_by_last_seen ON devices (last_seen_at);
   CREATE INDEX devices_by_created ON devices (created_at);`,
]
