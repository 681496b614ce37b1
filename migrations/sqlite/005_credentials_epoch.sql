-- 5: credentials epoch and device-bound sudo tokens (issue 11). Every password change, reset,
-- deactivation and disable bumps the epoch; a login read it before argon2 and creates its device only
-- if it is unchanged, in the same transaction. Sudo tokens now die with their device (foreign key);
-- live ones are copied (those of a device already gone were dead anyway).
ALTER TABLE accounts ADD COLUMN credentials_epoch INTEGER NOT NULL DEFAULT 0;
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
CREATE INDEX sudo_tokens_by_account ON sudo_tokens (account_id);
