-- 5 (PostgreSQL only): a login's device insert in one round trip. What the insert re-checks under the
-- account row's lock (the provider link, the password login's backoff, the credentials epoch and status,
-- the device cap) ran as five statements of one transaction; a function does the same statements, each with a fresh
-- READ COMMITTED snapshot taken after the lock (so the count sees every device committed before it), in
-- one call: a password login went from 9 statements to 4 (bench/postgres-login-cost.ts, README > On
-- PostgreSQL). The outcome names the refusal; the store maps it to its typed conflict (store/errors.ts).
CREATE FUNCTION hafnium_insert_device(
  p_id TEXT, p_account_id TEXT, p_token_hash BYTEA, p_name TEXT, p_push_token TEXT, p_now BIGINT, p_ip TEXT,
  p_credentials_epoch INTEGER, p_max_devices INTEGER, p_provider_id TEXT, p_sub TEXT, p_settle_login_at BIGINT,
  OUT outcome TEXT, OUT blocked_until BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
  account RECORD;
BEGIN
  blocked_until := 0;
  SELECT status, credentials_epoch, failed_logins, login_blocked_until INTO account FROM accounts WHERE id = p_account_id FOR UPDATE;
  IF p_provider_id IS NOT NULL
     AND (SELECT account_id FROM provider_links WHERE provider_id = p_provider_id AND sub = p_sub) IS DISTINCT FROM p_account_id THEN
    outcome := 'link_changed';
  ELSIF p_settle_login_at IS NOT NULL AND account.login_blocked_until > p_settle_login_at THEN
    outcome := 'login_blocked';
    blocked_until := account.login_blocked_until;
  ELSIF account.status IS NULL OR account.credentials_epoch IS DISTINCT FROM p_credentials_epoch THEN
    outcome := 'credentials_changed';
  ELSIF account.status <> 'active' THEN
    outcome := account.status; -- 'disabled' or 'pending': told only after the password and the backoff

  ELSIF (SELECT count(*) FROM devices WHERE account_id = p_account_id) >= p_max_devices THEN
    outcome := 'device_limit';
  ELSE
    IF p_settle_login_at IS NOT NULL AND account.failed_logins > 0 THEN
      UPDATE accounts SET failed_logins = 0, login_blocked_until = 0 WHERE id = p_account_id;
    END IF;
    INSERT INTO devices (id, account_id, token_hash, name, push_token, created_at, last_seen_at, last_ip)
      VALUES (p_id, p_account_id, p_token_hash, p_name, p_push_token, p_now, p_now, p_ip);
    outcome := 'inserted';
  END IF;
END
$$;
