-- 7: guests and custom sign-in tickets (issue 13). A guest account has no username, 3PID or password
-- until profile:upgrade clears the flag; idle guests are swept by age (the partial index keeps that
-- cheap). Ticket accounts are linked to their issuer's (iss, sub); a ticket's jti is kept until the
-- ticket expires, so a replay fails within its whole life, across restarts.
ALTER TABLE accounts ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
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
CREATE INDEX ticket_jtis_by_expiry ON ticket_jtis (expires_at);
