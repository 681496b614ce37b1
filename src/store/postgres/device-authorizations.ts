// Device authorization grants on PostgreSQL (contracts in ../device-authorizations.ts). Each op locks
// the grant row it decides on (an UPDATE … RETURNING, or SELECT … FOR UPDATE), so a grant is approved,
// denied or collected at most once whichever nodes the requests reach.
import { createHmac, hkdfSync } from 'node:crypto'
import type pg from 'pg'
import { CredentialsChanged, DeviceGone, DeviceLimit } from '../errors.ts'
import type { CollectOutcome, DeviceAuthorizationStore, PollOutcome } from '../device-authorizations.ts'
import { insertDevice } from './devices.ts'
import { deviceExists, run, transaction, uniqueViolation } from './db.ts'

interface GrantRow {
  id: string
  device_name: string
  state: 'pending' | 'approved' | 'denied' | 'delivered'
  account_id: string | null
  device_id: string | null
  credentials_epoch: number | null
  last_poll_at: number
  expires_at: number
}

const grantColumns = 'id, device_name, state, account_id, device_id, credentials_epoch, last_poll_at, expires_at'

export function createDeviceAuthorizationStore(pool: pg.Pool, secret: Buffer): DeviceAuthorizationStore {
  // The same keyed hash as on SQLite: the database alone gives no live user code away.
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'hafnium device user codes', 32))
  const hashUserCode = (code: string) => createHmac('sha256', key).update(code).digest()

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
        if (!row) return { outcome: 'unknown' }
        const wait = row.last_poll_at + intervalMs - now
        if (wait > 0) return { outcome: 'too_soon', retryAfter: wait }
        await db.query('UPDATE device_authorizations SET last_poll_at = $1 WHERE id = $2', [now, row.id])
        if (row.state === 'denied') return { outcome: 'denied' }
        if (row.state === 'delivered' || row.expires_at <= now) return { outcome: 'expired' }
        return row.state === 'approved' ? { outcome: 'approved', id: row.id } : { outcome: 'pending' }
      }),
    collect: (id, device) =>
      transaction(pool, async (db): Promise<CollectOutcome> => {
        const row = (await db.query<GrantRow>(`SELECT ${grantColumns} FROM device_authorizations WHERE id = $1 FOR UPDATE`, [id])).rows[0]
        if (!row || row.state !== 'approved' || row.expires_at <= device.now) return { outcome: 'gone' }
        // A savepoint, so a refused insert rolls back alone and the grant can still be marked denied.
        await db.query('SAVEPOINT insert_device')
        try {
          await insertDevice(
            db,
            secret,
            {
              accountID: row.account_id!,
              tokenHash: device.tokenHash,
              name: row.device_name,
              pushToken: null,
              ip: device.ip,
              now: device.now,
              expect: { credentialsEpoch: row.credentials_epoch!, maxDevices: device.maxDevices },
            },
            row.device_id!,
          )
          await db.query('RELEASE SAVEPOINT insert_device')
        } catch (error) {
          if (!(error instanceof CredentialsChanged || error instanceof DeviceLimit)) throw error
          await db.query('ROLLBACK TO SAVEPOINT insert_device')
          await db.query("UPDATE device_authorizations SET state = 'denied' WHERE id = $1", [id])
          return error instanceof DeviceLimit ? { outcome: 'refused', maxDevices: error.max } : { outcome: 'refused' }
        }
        await db.query("UPDATE device_authorizations SET state = 'delivered' WHERE id = $1", [id])
        return { outcome: 'ok', accountID: row.account_id!, deviceID: row.device_id!, deviceName: row.device_name }
      }),
    prune: async (before) => (await run(pool, 'DELETE FROM device_authorizations WHERE expires_at < $1', [before])).rowCount ?? 0,
  }
}
