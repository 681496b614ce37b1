// Sudo tokens on PostgreSQL (contract in ../sudo-tokens.ts): single statements, each atomic on its own, but
// for an issue that re-checks a provider link.
import type pg from 'pg'
import { DeviceGone, LinkChanged } from '../errors.ts'
import type { SudoTokenStore } from '../sudo-tokens.ts'
import { lockAccount, run, transaction } from './db.ts'

// The device must still belong to the account: a foreign key alone would accept another account's device.
const insert = `INSERT INTO sudo_tokens (token_hash, account_id, device_id, expires_at)
  SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM devices WHERE id = $3 AND account_id = $2)`

export function createSudoTokenStore(pool: pg.Pool): SudoTokenStore {
  return {
    async issue(hash, { accountID, deviceID }, expiresAt, link) {
      const values = [hash, accountID, deviceID, expiresAt]
      // The link is read under the account row's lock, which unbinding takes too (as a provider login's device insert).
      const result = !link
        ? await run(pool, insert, values)
        : await transaction(pool, async (db) => {
            await lockAccount(db, accountID)
            const linked = (await db.query<{ account_id: string }>('SELECT account_id FROM provider_links WHERE provider_id = $1 AND sub = $2', [link.providerID, link.sub])).rows[0]
            if (linked?.account_id !== accountID) throw new LinkChanged()
            return db.query(insert, values)
          })
      if (result.rowCount !== 1) throw new DeviceGone()
    },
    // One UPDATE checks and marks (the row lock makes a concurrent second use re-check and find it marked).
    consume: async (hash, { accountID, deviceID }, purpose, now) =>
      (
        await run(
          pool,
          `UPDATE sudo_tokens SET used_for = used_for || ' ' || $4 || ' '
           WHERE token_hash = $1 AND account_id = $2 AND device_id = $3 AND expires_at > $5 AND strpos(used_for, ' ' || $4 || ' ') = 0`,
          [hash, accountID, deviceID, purpose, now],
        )
      ).rowCount === 1,
    prune: async (now) => (await run(pool, 'DELETE FROM sudo_tokens WHERE expires_at <= $1', [now])).rowCount ?? 0,
  }
}
