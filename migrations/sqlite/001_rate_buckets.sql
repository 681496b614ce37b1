-- 1: rate-limit buckets (contract §7). Connection-scoped buckets are never written here.
CREATE TABLE rate_buckets (
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,
  tokens REAL NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (rule, subject)
) STRICT, WITHOUT ROWID;
