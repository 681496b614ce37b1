// Guest upgrade and idle-guest sweep on PostgreSQL (contracts in ../guests.ts).
import type pg from 'pg'
import { DeviceGone, NotGuest, UniqueViolation } from '../errors.ts'
import type { GuestOps } from '../guests.ts'
import { forgetAddress, mergeClaims } from './account-credentials.ts'
import { deviceExists, lockAccount, run, transaction, uniqueViolation, type Queryable } from './db.ts'

/** Another account's unverified claim on the 3PID gives way (an address nobody proved reserves nothing). */
export async function dropClaims(db: Queryable, medium: string, address: string, accountID: string): Promise<void> {
  const dropped = await db.query<{ account_id: string }>(
    'DELETE FROM thirdpids WHERE medium = $1 AND address = $2 AND verified = 0 AND account_id <> $3 RETURNING account_id',
    [medium, address, accountID],
  )
  for (const { account_id } of dropped.rows) await forgetAddress(db, account_id, medium, address)
}

export function createGuestOps(pool: pg.Pool): GuestOps {
  return {
    async upgradeGuest(u) {
      let field: UniqueViolation['field'] = 'username'
      try {
        await transaction(pool, async (db) => {
          const row = await lockAccount<{ guest: number; profile: string }>(db, u.accountID, 'guest, profile')
          if (!(await deviceExists(db, u.accountID, u.actorDeviceID))) throw new DeviceGone()
          if (row?.guest !== 1) throw new NotGuest()
          field = 'username'
          await db.query(
            `UPDATE accounts SET username = $1, password_hash = $2, profile = $3, guest = 0, credentials_epoch = credentials_epoch + 1, updated_at = $4
             WHERE id = $5 AND guest = 1`,
            [u.username, u.passwordHash, mergeClaims(row.profile, u.profile), u.now, u.accountID],
          )
          for (const t of u.thirdPIDs) {
            await dropClaims(db, t.type, t.value, u.accountID)
            field = 'thirdPID'
            await db.query('INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES ($1, $2, $3, $4, $5)', [
              t.type,
              t.value,
              u.accountID,
              t.verified ? 1 : 0,
              u.now,
            ])
          }
        })
      } catch (error) {
        if (uniqueViolation(error) !== undefined) throw new UniqueViolation(field)
        throw error
      }
    },
    purgeIdleGuests: async (cutoff) =>
      (
        await run<{ id: string }>(
          pool,
          `DELETE FROM accounts WHERE guest = 1 AND created_at < $1
             AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.account_id = accounts.id AND d.last_seen_at >= $1)
           RETURNING id`,
          [cutoff],
        )
      ).rows.map((row) => row.id),
  }
}
