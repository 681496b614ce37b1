-- 9: spent captcha solutions (contract §15): a solution works once, also across a restart, until its
-- challenge expires (5 minutes); the sweep deletes them after that.
CREATE TABLE captcha_spent (
  signature_hash BLOB PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX captcha_spent_by_expiry ON captcha_spent (expires_at);
