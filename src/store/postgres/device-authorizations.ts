// Device authorization grants on PostgreSQL (contracts in ../device-authorizations.ts). Each op locks
// the grant row it decides on (an UPDATE … RETURNING, or SELECT … FOR UPDATE), so a grant is approved,
// denied or collected at most once whichever nodes the requests reach.
import type pg from 'pg'
import { CredentialsChanged, DeviceGone, DeviceLimit } from '../errors.ts'
import type { CollectOutcome, DeviceAuthorizationStore, PollOutcome } from '../device-authorizations.ts'
import { delivered, grantColumns, grantedDevice, pollOutcome, recordsPoll, refused, userCodeHasher, type GrantRow } from '../rows/device-authorizations.ts'
import { insertDevice } from './devices.ts'
import { deviceExists, run, transaction, uniqueViolation } from './db.ts'

export function createDeviceAuthorizationStore(pool: pg.Pool, secret: Buffer): DeviceAuthorizationStore {
  const hashUserCode = userCodeHasher(secret)

  return {
    async create(grant) {
      try {
        await run(
          pool,
          `INSERT INTO device_authorizations (id, user_code_hash, device_code_hash, device_name, expires_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [grant.id, hashUserCode(grant.userCode), grant.deviceCodeHash, grant.deviceName, grant.expiresAt, grant.now],
        )
        return true
      } catch (error) {
        if (uniqueViolation(error) !== undefined) return false
        throw error
      }
    },
    approve: (userCode, approver, deviceID, now) =>
      transaction(pool, async (db) => {
        if (!(await deviceExists(db, approver.accountID, approver.deviceID))) throw new DeviceGone()
        const row = (
          await db.query<{ id: string; device_name: string }>(
            `UPDATE device_authorizations SET state = 'approved', account_id = $1, device_id = $2, credentials_epoch = $3
             WHERE user_code_hash = $4 AND state = 'pending' AND expires_at > $5 RETURNING id, device_name`,
            [approver.accountID, deviceID, approver.credentialsEpoch, hashUserCode(userCode), now],
          )
        ).rows[0]
        return row && { id: row.id, deviceName: row.device_name }
      }),
    deny: (userCode, actor, now) =>
      transaction(pool, async (db) => {
        if (!(await deviceExists(db, actor.accountID, actor.deviceID))) throw new DeviceGone()
        const row = (
          await db.query<{ id: string }>(
            `UPDATE device_authorizations SET state = 'denied' WHERE user_code_hash = $1 AND state = 'pending' AND expires_at > $2 RETURNING id`,
            [hashUserCode(userCode), now],
          )
        ).rows[0]
        return row?.id
      }),
    poll: (deviceCodeHash, now, intervalMs) =>
      transaction(pool, async (db): Promise<PollOutcome> => {
        const row = (await db.query<GrantRow>(`SELECT ${grantColumns} FROM device_authorizations WHERE device_code_hash = $1 FOR UPDATE`, [deviceCodeHash])).rows[0]
        const outcome = pollOutcome(row, now, intervalMs)
        if (row && recordsPoll(outcome)) await db.query('UPDATE device_authorizations SET last_poll_at = $1 WHERE id = $2', [now, row.id])
        return outcome
      }),
    collect: (id, device) =>
      transaction(pool, async (db): Promise<CollectOutcome> => {
        const row = (await db.query<GrantRow>(`SELECT ${grantColumns} FROM device_authorizations WHERE id = $1 FOR UPDATE`, [id])).rows[0]
        if (!row || row.state !== 'approved' || row.expires_at <= device.now) return { outcome: 'gone' }
        // A savepoint, so a refused insert rolls back alone and the grant can still be marked denied.
        await db.query('SAVEPOINT insert_device')
        try {
          await insertDevice(db, secret, grantedDevice(row, device), row.device_id!)
          await db.query('RELEASE SAVEPOINT insert_device')
        } catch (error) {
          if (!(error instanceof CredentialsChanged || error instanceof DeviceLimit)) throw error
          await db.query('ROLLBACK TO SAVEPOINT insert_device')
          await db.query("UPDATE device_authorizations SET state = 'denied' WHERE id = $1", [id])
          return refused(error)
        }
        await db.query("UPDATE device_authorizations SET state = 'delivered' WHERE id = $1", [id])
        return delivered(row)
      }),
    prune: async (before) => (await run(pool, 'DELETE FROM device_authorizations WHERE expires_at < $1', [before])).rowCount ?? 0,
  }
}
