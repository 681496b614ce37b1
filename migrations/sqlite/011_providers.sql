-- 11: OpenID Connect identity providers (contract §15, issue 16). provider_links ties an account to a
-- provider's (providerID, sub), one per provider and account. provider_flows holds an authorization
-- request between provider:auth_url and provider:grant: keyed by the state's SHA-256, with the PKCE
-- verifier and nonce sealed under the outbox key; taken once. provider_tokens are the single-use
-- handles on a verified identity that provider:grant hands out (SHA-256 only). Neither the provider's
-- access nor refresh token is kept anywhere.
CREATE TABLE provider_links (
  provider_id TEXT NOT NULL,
  sub TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  email TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (provider_id, sub)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX provider_links_one_per_account ON provider_links (account_id, provider_id);
CREATE TABLE provider_flows (
  state_hash BLOB PRIMARY KEY,
  provider_id TEXT NOT NULL,
  sealed BLOB NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX provider_flows_by_expiry ON provider_flows (expires_at);
CREATE TABLE provider_tokens (
  token_hash BLOB PRIMARY KEY,
  provider_id TEXT NOT NULL,
  sub TEXT NOT NULL,
  email TEXT,
  email_verified INTEGER NOT NULL DEFAULT 0,
  name TEXT,
  picture TEXT,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX provider_tokens_by_expiry ON provider_tokens (expires_at);
