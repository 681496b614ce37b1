-- 8: device authorization grants (contract §14, RFC 8628). Both codes are stored hashed (the user code
-- keyed, see device-authorizations.ts). The approved device is inserted only when its token is handed
-- out (device:authorized or device:authorize_poll), so no token waits anywhere; device_id is reserved at
-- approval and credentials_epoch is the approver's then, re-checked by that insert.
CREATE TABLE device_authorizations (
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
CREATE INDEX device_authorizations_by_account ON device_authorizations (account_id);
