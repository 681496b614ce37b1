// Identity-provider flows, providerTokens and links on PostgreSQL (contract in ../providers.ts).
import type pg from 'pg'
import { AlreadyUsed, LastWayIn, UniqueViolation } from '../errors.ts'
import type { ProviderStore } from '../providers.ts'
import { providerTokenColumns, toIdentity, type ProviderTokenRow } from '../rows/providers.ts'
import { seal, unseal } from '../sealing.ts'
import { lockAccount, run, transaction, uniqueViolation } from './db.ts'
import { batchedRead } from './batched-read.ts'

type Link = { providerID: string; sub: string; email: string | null }

export function createProviderStore(pool: pg.Pool, key: Buffer): ProviderStore {
  // Every own profile:get lists the account's links: the look-ups of one turn in one statement.
  const linksOf = batchedRead(async (accountIDs: string[]) => {
    const rows = await run<{ account_id: string; provider_id: string; sub: string; email: string | null }>(
      pool,
      'SELECT account_id, provider_id, sub, email FROM provider_links WHERE account_id = ANY($1::text[]) ORDER BY account_id, provider_id',
      [accountIDs],
    )
    const byAccount = new Map<string, Link[]>()
    for (const r of rows.rows) {
      let list = byAccount.get(r.account_id)
      if (!list) byAccount.set(r.account_id, (list = []))
      list.push({ providerID: r.provider_id, sub: r.sub, email: r.email })
    }
    return byAccount
  }, (accountID: string) => accountID)
  const context = (stateHash: Buffer) => 'provider flow ' + stateHash.toString('hex')
  return {
    async startFlow(stateHash, flow, expiresAt) {
      const secrets = Buffer.from(JSON.stringify({ v: flow.codeVerifier, n: flow.nonce }))
      await run(pool, 'INSERT INTO provider_flows (state_hash, provider_id, sealed, expires_at) VALUES ($1, $2, $3, $4)', [
        stateHash,
        flow.providerID,
        seal(key, context(stateHash), secrets),
        expiresAt,
      ])
    },
    // One DELETE … RETURNING: of two uses of a state (on any nodes) exactly one gets the row.
    async takeFlow(stateHash, now) {
      const row = (await run<{ provider_id: string; sealed: Buffer }>(pool, 'DELETE FROM provider_flows WHERE state_hash = $1 AND expires_at > $2 RETURNING provider_id, sealed', [stateHash, now])).rows[0]
      if (!row) return undefined
      const { v, n } = JSON.parse(unseal(key, context(stateHash), row.sealed).toString()) as { v: string; n: string }
      return { providerID: row.provider_id, codeVerifier: v, nonce: n }
    },
    async issueToken(tokenHash, id, expiresAt) {
      await run(
        pool,
        'INSERT INTO provider_tokens (token_hash, provider_id, sub, email, email_verified, name, picture, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [tokenHash, id.providerID, id.sub, id.email, id.emailVerified ? 1 : 0, id.name, id.picture, expiresAt],
      )
    },
    peekToken: async (tokenHash, now) =>
      toIdentity((await run<ProviderTokenRow>(pool, `SELECT ${providerTokenColumns} FROM provider_tokens WHERE token_hash = $1 AND expires_at > $2`, [tokenHash, now])).rows[0]),
    async consumeToken(tokenHash, now) {
      if ((await run(pool, 'DELETE FROM provider_tokens WHERE token_hash = $1 AND expires_at > $2', [tokenHash, now])).rowCount !== 1) throw new AlreadyUsed()
    },
    linkedAccount: async (providerID, sub) =>
      (await run<{ account_id: string }>(pool, 'SELECT account_id FROM provider_links WHERE provider_id = $1 AND sub = $2', [providerID, sub])).rows[0]?.account_id,
    // Each caller its own objects: two look-ups of one account in a batch share the row list.
    links: async (accountID) => ((await linksOf(accountID)) ?? []).map((link) => ({ ...link })),
    async bind(tokenHash, accountID, now) {
      try {
        await transaction(pool, async (db) => {
          const row = (await db.query<ProviderTokenRow>(`DELETE FROM provider_tokens WHERE token_hash = $1 AND expires_at > $2 RETURNING ${providerTokenColumns}`, [tokenHash, now])).rows[0]
          if (!row) throw new AlreadyUsed()
          await db.query('INSERT INTO provider_links (provider_id, sub, account_id, email, created_at) VALUES ($1, $2, $3, $4, $5)', [
            row.provider_id,
            row.sub,
            accountID,
            row.email_verified ? row.email : null,
            now,
          ])
        })
      } catch (error) {
        if (uniqueViolation(error) !== undefined) throw new UniqueViolation('other')
        throw error
      }
    },
    // The account row is locked first, as every read-then-write on an account does here, so two unbinds
    // (or an unbind and a 3PID unbind) cannot both count the other's way in.
    unbind: (accountID, providerID) =>
      transaction(pool, async (db) => {
        await lockAccount(db, accountID)
        if ((await db.query('DELETE FROM provider_links WHERE account_id = $1 AND provider_id = $2', [accountID, providerID])).rowCount !== 1) return false
        const { n } = (
          await db.query<{ n: string }>(
            `SELECT (SELECT count(*) FROM accounts a WHERE a.id = $1 AND a.password_hash IS NOT NULL
                      AND (a.username IS NOT NULL OR EXISTS (SELECT 1 FROM thirdpids t WHERE t.account_id = a.id)))
                  + (SELECT count(*) FROM thirdpids WHERE account_id = $1 AND verified = 1)
                  + (SELECT count(*) FROM provider_links WHERE account_id = $1 AND provider_id <> $2)
                  + (SELECT count(*) FROM ticket_links WHERE account_id = $1) AS n`,
            [accountID, providerID],
          )
        ).rows[0]!
        if (Number(n) === 0) throw new LastWayIn()
        return true
      }),
    prune: async (now) =>
      ((await run(pool, 'DELETE FROM provider_flows WHERE expires_at <= $1', [now])).rowCount ?? 0) +
      ((await run(pool, 'DELETE FROM provider_tokens WHERE expires_at <= $1', [now])).rowCount ?? 0),
  }
}
