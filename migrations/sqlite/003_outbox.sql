-- 3: the delivery outbox, written in the same transaction as the code it carries, drained by the
-- sender with retries. The message (which holds the code) is sealed with AES-256-GCM: the database
-- file alone never shows a code. next_attempt_at NULL = given up (sealed emptied, last_error kept).
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  channel TEXT NOT NULL CHECK (channel IN ('email', 'msisdn')),
  sealed BLOB NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at);
