// Sudo tokens on PostgreSQL (contract in ../sudo-tokens.ts): single statements, each atomic on its own.
import type pg from 'pg'
import { DeviceGone } from '../errors.ts'
import type { SudoTokenStore } from '../sudo-tokens.ts'
import { run } from './db.ts'

export function createSudoTokenStore(pool: pg.Pool): SudoTokenStore {
  return {
    async issue(hash, { accountID, deviceID }, expiresAt) {
      // The device must still belong to the account: a foreign key alone would accept another account's device.
      const result = await run(
        pool,
        `INSERT INTO sudo_tokens (token_hash, account_id, device_id, expires_at)
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM devices WHERE id = $3 AND account_id = $2)`,
        [hash, accountID, deviceID, expiresAt],
      )
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
