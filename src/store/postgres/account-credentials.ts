// Credential changes, rehash, profile merge and login backoff on PostgreSQL (contracts in ../account-credentials.ts).
// Each locks the account row first (SELECT … FOR UPDATE, READ COMMITTED): writes to one account queue
// behind each other as they do behind SQLite's single writer, and every re-check reads the latest commit.
import type pg from 'pg'
import { CredentialsChanged, DeviceGone } from '../errors.ts'
import type { CredentialOps } from '../account-credentials.ts'
import type { ProfileClaims } from '../../types/schemas.ts'
import { deviceExists, lockAccount, run, transaction, type Queryable } from './db.ts'

/** Deletes a 3PID's live codes and tokens of one account: they no longer prove anything about it. */
export async function forgetAddress(db: Queryable, accountID: string, medium: string, address: string): Promise<void> {
  await db.query('DELETE FROM verification_codes WHERE account_id = $1 AND medium = $2 AND address = $3', [accountID, medium, address])
  await db.query('DELETE FROM verification_tokens WHERE account_id = $1 AND medium = $2 AND address = $3', [accountID, medium, address])
}

export function mergeClaims(stored: string, patch: ProfileClaims): string {
  const merged = new Map(Object.entries(JSON.parse(stored) as ProfileClaims))
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) merged.delete(key)
    else merged.set(key, value)
  }
  // fromEntries defines keys, never invokes a `__proto__` setter.
  return JSON.stringify(Object.fromEntries(merged))
}

export function createCredentialOps(pool: pg.Pool): CredentialOps {
  return {
    changeCredentials: (c) =>
      transaction(pool, async (db) => {
        const row = await lockAccount<{ password_hash: string | null }>(db, c.accountID, 'password_hash')
        if (c.actor && !(await deviceExists(db, c.accountID, c.actor.deviceID))) throw new DeviceGone()
        if (!row || (c.expectHash !== undefined && row.password_hash !== c.expectHash)) throw new CredentialsChanged()
        await db.query(
          `UPDATE accounts SET password_hash = coalesce($1, password_hash), status = coalesce($2, status),
             credentials_epoch = credentials_epoch + 1, updated_at = $3 WHERE id = $4`,
          [c.passwordHash ?? null, c.status ?? null, c.now, c.accountID],
        )
        if (c.clearFailures) await db.query('UPDATE accounts SET failed_logins = 0, login_blocked_until = 0 WHERE id = $1', [c.accountID])
        if (c.dropUnverified) {
          const dropped = await db.query<{ medium: string; address: string }>(
            'DELETE FROM thirdpids WHERE account_id = $1 AND verified = 0 RETURNING medium, address',
            [c.accountID],
          )
          for (const { medium, address } of dropped.rows) await forgetAddress(db, c.accountID, medium, address)
        }
        await db.query('DELETE FROM sudo_tokens WHERE account_id = $1', [c.accountID])
        const deleted = await db.query<{ id: string }>('DELETE FROM devices WHERE account_id = $1 AND id <> $2 RETURNING id', [
          c.accountID,
          c.actor?.keepActor ? c.actor.deviceID : '',
        ])
        return deleted.rows.map((r) => r.id)
      }),
    // One UPDATE compares and swaps.
    rehashPassword: async (accountID, oldHash, newHash, now) =>
      (await run(pool, 'UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4', [newHash, now, accountID, oldHash])).rowCount === 1,
    // The read, merge and write hold the row lock: two concurrent updates cannot lose each other's fields.
    mergeProfile: (accountID, actorDeviceID, patch, now) =>
      transaction(pool, async (db) => {
        const row = await lockAccount<{ profile: string }>(db, accountID, 'profile')
        if (!row || !(await deviceExists(db, accountID, actorDeviceID))) throw new DeviceGone()
        await db.query('UPDATE accounts SET profile = $1, updated_at = $2 WHERE id = $3', [mergeClaims(row.profile, patch), now, accountID])
      }),
    // The counting UPDATE takes the row lock (a concurrent one waits, then re-checks its WHERE against the
    // committed block); the block is computed from the fresh count and only grows (MAX).
    recordLoginFailure: (accountID, now, blockUntil) =>
      transaction(pool, async (db) => {
        type Row = { failed_logins: number; login_blocked_until: number }
        const row = (
          await db.query<Row>(
            'UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = $1 AND login_blocked_until <= $2 RETURNING failed_logins, login_blocked_until',
            [accountID, now],
          )
        ).rows[0]
        if (!row) {
          const blocked = (await db.query<Row>('SELECT failed_logins, login_blocked_until FROM accounts WHERE id = $1', [accountID])).rows[0]
          return { counted: false, failures: blocked?.failed_logins ?? 0, blockedUntil: blocked?.login_blocked_until ?? 0 }
        }
        const blockedUntil = Math.max(row.login_blocked_until, blockUntil(row.failed_logins))
        if (blockedUntil !== row.login_blocked_until) await db.query('UPDATE accounts SET login_blocked_until = $1 WHERE id = $2', [blockedUntil, accountID])
        return { counted: true, failures: row.failed_logins, blockedUntil }
      }),
  }
}
