-- 4 (PostgreSQL only): the password-login backoff of names that find no account (privacy.revealAccounts
-- false), shared by every node like an account's failed_logins, so that spreading wrong passwords over
-- nodes cannot tell an existing account (blocked on its row) from a name that finds none. SQLite keeps
-- this state in its one process's memory.
CREATE TABLE login_name_failures (
  name TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  blocked_until BIGINT NOT NULL,
  failed_at BIGINT NOT NULL
);
CREATE INDEX login_name_failures_failed_at ON login_name_failures (failed_at);
