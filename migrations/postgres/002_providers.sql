-- 2 (SQLite 11): OpenID Connect identity providers (contract §15, issue 16): accounts linked to a provider's
-- (providerID, sub), one per provider and account; authorization requests in flight (the state's SHA-256,
-- the PKCE verifier and nonce sealed under the outbox key; taken once); and the single-use providerTokens
-- (SHA-256 only). Neither the provider's access nor refresh token is kept.
CREATE TABLE provider_links (
  provider_id TEXT NOT NULL,
  sub TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  email TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (provider_id, sub)
);
CREATE UNIQUE INDEX provider_links_one_per_account ON provider_links (account_id, provider_id);
CREATE TABLE provider_flows (
  state_hash BYTEA PRIMARY KEY,
  provider_id TEXT NOT NULL,
  sealed BYTEA NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX provider_flows_by_expiry ON provider_flows (expires_at);
CREATE TABLE provider_tokens (
  token_hash BYTEA PRIMARY KEY,
  provider_id TEXT NOT NULL,
  sub TEXT NOT NULL,
  email TEXT,
  email_verified INTEGER NOT NULL DEFAULT 0,
  name TEXT,
  picture TEXT,
  expires_at BIGINT NOT NULL
);
CREATE INDEX provider_tokens_by_expiry ON provider_tokens (expires_at);
