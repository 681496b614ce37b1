// OpenID Connect identity providers (contract §15): authorization requests in flight, the single-use
// handles on verified identities (providerTokens), and the accounts linked to a provider's (providerID, sub).
import type { Database } from 'better-sqlite3'
import { AlreadyUsed, LastWayIn, UniqueViolation } from './errors.ts'
import { toIdentity, type ProviderTokenRow } from './rows/providers.ts'
import { seal, unseal } from './sealing.ts'
import { createReadCache } from './read-cache.ts'
import type { SharedRead } from './shared-read.ts'
import { heapBytes } from './accounts.ts'

/** What provider:auth_url keeps until provider:grant: the PKCE verifier and the nonce (sealed at rest). */
export interface ProviderFlow {
  providerID: string
  codeVerifier: string
  nonce: string
}

/** An identity a provider vouched for in a verified ID token. */
export interface ProviderIdentity {
  providerID: string
  sub: string
  email: string | null
  emailVerified: boolean
  name: string | null
  picture: string | null
}

export interface ProviderLink {
  providerID: string
  sub: string
  email: string | null
}

export interface ProviderStore {
  startFlow(stateHash: Buffer, flow: ProviderFlow, expiresAt: number): Promise<void>
  /** Deletes and returns the flow if it is there and unexpired at `now`: a state works once. */
  takeFlow(stateHash: Buffer, now: number): Promise<ProviderFlow | undefined>
  issueToken(tokenHash: Buffer, identity: ProviderIdentity, expiresAt: number): Promise<void>
  /** The identity behind an unexpired, unused token, without using it. */
  peekToken(tokenHash: Buffer, now: number): Promise<ProviderIdentity | undefined>
  /** Uses the token; AlreadyUsed if it is gone (used, expired or unknown). */
  consumeToken(tokenHash: Buffer, now: number): Promise<void>
  linkedAccount(providerID: string, sub: string): Promise<string | undefined>
  links(accountID: string): Promise<ProviderLink[]>
  /**
   * Uses the token and links its identity to the account, in one transaction: AlreadyUsed if the token
   * is gone, UniqueViolation if the identity is linked to any account or the account already has a
   * link to that provider (nothing changes then, and the token stays usable).
   */
  bind(tokenHash: Buffer, accountID: string, now: number): Promise<void>
  /**
   * Removes the account's link to the provider: false if there is none; LastWayIn if the account would be
   * left with no way to log in (re-checked inside the delete's transaction, so two unbinds cannot race).
   */
  unbind(accountID: string, providerID: string): Promise<boolean>
  prune(now: number): Promise<number>
}

export function createProviderStore(db: Database, key: Buffer, reads?: Pick<SharedRead, 'run'>): ProviderStore {
  const context = (stateHash: Buffer) => 'provider flow ' + stateHash.toString('hex')
  const insertFlow = db.prepare('INSERT INTO provider_flows (state_hash, provider_id, sealed, expires_at) VALUES (?, ?, ?, ?)')
  const deleteFlow = db.prepare<[Buffer, number], { provider_id: string; sealed: Buffer }>(
    'DELETE FROM provider_flows WHERE state_hash = ? AND expires_at > ? RETURNING provider_id, sealed',
  )
  const insertToken = db.prepare(
    `INSERT INTO provider_tokens (token_hash, provider_id, sub, email, email_verified, name, picture, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const selectToken = db.prepare<[Buffer, number], ProviderTokenRow>('SELECT * FROM provider_tokens WHERE token_hash = ? AND expires_at > ?')
  const deleteToken = db.prepare<[Buffer, number], ProviderTokenRow>('DELETE FROM provider_tokens WHERE token_hash = ? AND expires_at > ? RETURNING *')
  const selectLink = db.prepare<[string, string], { account_id: string }>('SELECT account_id FROM provider_links WHERE provider_id = ? AND sub = ?')
  const selectLinks = db.prepare<[string], { provider_id: string; sub: string; email: string | null }>(
    'SELECT provider_id, sub, email FROM provider_links WHERE account_id = ? ORDER BY provider_id',
  )
  const insertLink = db.prepare('INSERT INTO provider_links (provider_id, sub, account_id, email, created_at) VALUES (?, ?, ?, ?, ?)')
  const deleteLink = db.prepare('DELETE FROM provider_links WHERE account_id = ? AND provider_id = ?')
  // Every way in but this provider: a password with a name for the account (username or 3PID), a verified
  // 3PID (a code goes there), another provider, a ticket issuer.
  const otherWaysIn = db.prepare<{ account: string; provider: string }, { n: number }>(
    `SELECT (SELECT count(*) FROM accounts a WHERE a.id = @account AND a.password_hash IS NOT NULL
              AND (a.username IS NOT NULL OR EXISTS (SELECT 1 FROM thirdpids t WHERE t.account_id = a.id)))
          + (SELECT count(*) FROM thirdpids WHERE account_id = @account AND verified = 1)
          + (SELECT count(*) FROM provider_links WHERE account_id = @account AND provider_id <> @provider)
          + (SELECT count(*) FROM ticket_links WHERE account_id = @account) AS n`,
  )
  // Own profile:get lists the links on every call: uncached, this SELECT was 17% of its CPU (bench, the
  // 100,000-account fixture, where nobody has a link). The same staleness rules as the account cache.
  const linksCache = createReadCache<{ accountID: string; links: ProviderLink[] }>(db, {
    sources: [{ table: 'provider_links', rowKey: 'ROW.account_id' }],
    rowKeyOf: (entry) => entry.accountID,
    sizeOf: heapBytes,
    maxBytes: 8 * 2 ** 20,
    foreignCheckMs: 1000,
    reads,
  })
  const loadLinks = (accountID: string) => ({
    accountID,
    links: selectLinks.all(accountID).map((r) => ({ providerID: r.provider_id, sub: r.sub, email: r.email })),
  })
  const pruneFlows = db.prepare('DELETE FROM provider_flows WHERE expires_at <= ?')
  const pruneTokens = db.prepare('DELETE FROM provider_tokens WHERE expires_at <= ?')

  const bind = db.transaction((tokenHash: Buffer, accountID: string, now: number) => {
    const row = deleteToken.get(tokenHash, now)
    if (!row) throw new AlreadyUsed()
    try {
      insertLink.run(row.provider_id, row.sub, accountID, row.email_verified ? row.email : null, now)
    } catch (error) {
      const code = (error as { code?: string }).code
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new UniqueViolation('other')
      throw error
    }
  })
  const unbind = db.transaction((accountID: string, providerID: string): boolean => {
    if (deleteLink.run(accountID, providerID).changes !== 1) return false
    if ((otherWaysIn.get({ account: accountID, provider: providerID })?.n ?? 0) === 0) throw new LastWayIn()
    return true
  })

  return {
    async startFlow(stateHash, flow, expiresAt) {
      const secrets = Buffer.from(JSON.stringify({ v: flow.codeVerifier, n: flow.nonce }))
      insertFlow.run(stateHash, flow.providerID, seal(key, context(stateHash), secrets), expiresAt)
    },
    async takeFlow(stateHash, now) {
      const row = deleteFlow.get(stateHash, now)
      if (!row) return undefined
      const { v, n } = JSON.parse(unseal(key, context(stateHash), row.sealed).toString()) as { v: string; n: string }
      return { providerID: row.provider_id, codeVerifier: v, nonce: n }
    },
    async issueToken(tokenHash, id, expiresAt) {
      insertToken.run(tokenHash, id.providerID, id.sub, id.email, id.emailVerified ? 1 : 0, id.name, id.picture, expiresAt)
    },
    peekToken: async (tokenHash, now) => toIdentity(selectToken.get(tokenHash, now)),
    async consumeToken(tokenHash, now) {
      if (!deleteToken.get(tokenHash, now)) throw new AlreadyUsed()
    },
    linkedAccount: async (providerID, sub) => selectLink.get(providerID, sub)?.account_id,
    // Frozen and shared between callers (the cache's rule): a copy for the caller to keep.
    links: async (accountID) => linksCache.get(accountID, () => loadLinks(accountID))!.links.map((l) => ({ ...l })),
    async bind(tokenHash, accountID, now) {
      bind.immediate(tokenHash, accountID, now)
    },
    unbind: async (accountID, providerID) => unbind.immediate(accountID, providerID),
    prune: async (now) => pruneFlows.run(now).changes + pruneTokens.run(now).changes,
  }
}
