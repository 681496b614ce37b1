// Devices on PostgreSQL (contracts in ../devices.ts).
import type pg from 'pg'
import { generateDeviceID } from '../../auth/tokens.ts'
import { AccountInactive, CredentialsChanged, DeviceGone, DeviceLimit, LinkChanged, LoginBlocked } from '../errors.ts'
import { sealPushToken, type DeviceStore, type NewDevice } from '../devices.ts'
import { deviceColumns, toDevice, type DeviceRow } from '../rows/devices.ts'
import { createDeviceLifetimeStore } from './device-lifetime.ts'
import { autocommit, deviceExists, run, transaction, uniqueViolation, type Queryable } from './db.ts'

/**
 * The one device insert, inside the caller's transaction (or alone: it is one statement). With `expect`
 * it is one call of hafnium_insert_device (migrations/postgres/005). The device cap and the credentials epoch are
 * re-checked under the account row's lock (SELECT … FOR UPDATE): concurrent logins to one account take
 * turns, so N of them against a cap of M insert exactly min(N, M − held) devices, on any number of nodes.
 * A provider login's link is read after that lock: unbinding takes the same lock, so it is either committed
 * (and seen: READ COMMITTED reads afresh per statement) or waits for this insert.
 */
export async function insertDevice(db: Queryable, key: Buffer, device: NewDevice, id: string): Promise<void> {
  const pushToken = device.pushToken === null ? null : sealPushToken(key, id, device.pushToken)
  const expect = device.expect
  if (!expect) {
    await db.query(
      `INSERT INTO devices (id, account_id, token_hash, name, push_token, created_at, last_seen_at, last_ip)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`,
      [id, device.accountID, device.tokenHash, device.name, pushToken, device.now, device.ip],
    )
    return
  }
  // migrations/postgres/005: the checks below in one round trip, in this order, under the account's lock.
  const { outcome, blocked_until } = (
    await db.query<{ outcome: string; blocked_until: number }>(
      'SELECT outcome, blocked_until FROM hafnium_insert_device($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [id, device.accountID, device.tokenHash, device.name, pushToken, device.now, device.ip, expect.credentialsEpoch, expect.maxDevices,
        expect.link?.providerID ?? null, expect.link?.sub ?? null, expect.settleLoginAt ?? null],
    )
  ).rows[0]!
  if (outcome === 'inserted') return
  if (outcome === 'link_changed') throw new LinkChanged()
  if (outcome === 'login_blocked') throw new LoginBlocked(blocked_until)
  if (outcome === 'credentials_changed') throw new CredentialsChanged()
  if (outcome === 'disabled' || outcome === 'pending') throw new AccountInactive(outcome)
  if (outcome === 'device_limit') throw new DeviceLimit(expect.maxDevices)
  throw new Error(`hafnium_insert_device: unknown outcome ${outcome}`)
}

export function createDeviceStore(pool: pg.Pool, key: Buffer): DeviceStore {
  const onBehalfOf = <T>(accountID: string, actorDeviceID: string, work: (db: Queryable) => Promise<T>) =>
    transaction(pool, async (db) => {
      if (!(await deviceExists(db, accountID, actorDeviceID))) throw new DeviceGone()
      return work(db)
    })
  const deleteAll = async (db: Queryable, accountID: string) =>
    (await db.query<{ id: string }>('DELETE FROM devices WHERE account_id = $1 RETURNING id', [accountID])).rows.map((r) => r.id)

  const single = autocommit(pool)
  return {
    ...createDeviceLifetimeStore(pool),
    async create(device) {
      for (let attempt = 0; ; attempt++) {
        const id = generateDeviceID()
        try {
          // One statement (with expect, one function call): no transaction of its own to open.
          await insertDevice(single, key, device, id)
          return { id, accountID: device.accountID, name: device.name, pushToken: device.pushToken, createdAt: device.now, lastSeenAt: device.now, lastIP: device.ip }
        } catch (error) {
          // 36^10 ids: a collision is rare; anything else (or a third collision) is a real failure.
          if (uniqueViolation(error) !== 'devices_pkey' || attempt === 2) throw error
        }
      }
    },
    async byID(accountID, deviceID) {
      const row = (await run<DeviceRow>(pool, `SELECT ${deviceColumns} FROM devices WHERE account_id = $1 AND id = $2`, [accountID, deviceID])).rows[0]
      return row && toDevice(row, key)
    },
    list: async (accountID) =>
      (await run<DeviceRow>(pool, `SELECT ${deviceColumns} FROM devices WHERE account_id = $1 ORDER BY created_at, id`, [accountID])).rows.map((row) => toDevice(row, key)),
    rename: (accountID, deviceID, name, actorDeviceID) =>
      onBehalfOf(accountID, actorDeviceID, async (db) => (await db.query('UPDATE devices SET name = $1 WHERE account_id = $2 AND id = $3', [name, accountID, deviceID])).rowCount === 1),
    async setPushToken(accountID, deviceID, pushToken) {
      const result = await run(pool, 'UPDATE devices SET push_token = $1 WHERE account_id = $2 AND id = $3', [sealPushToken(key, deviceID, pushToken), accountID, deviceID])
      if (result.rowCount !== 1) throw new DeviceGone()
    },
    revoke: async (accountID, deviceID, actorDeviceID) =>
      actorDeviceID === undefined || actorDeviceID === deviceID
        ? (await run(pool, 'DELETE FROM devices WHERE account_id = $1 AND id = $2', [accountID, deviceID])).rowCount === 1
        : onBehalfOf(accountID, actorDeviceID, async (db) => (await db.query('DELETE FROM devices WHERE account_id = $1 AND id = $2', [accountID, deviceID])).rowCount === 1),
    revokeAll: (accountID, actorDeviceID) =>
      actorDeviceID === undefined ? transaction(pool, (db) => deleteAll(db, accountID)) : onBehalfOf(accountID, actorDeviceID, (db) => deleteAll(db, accountID)),
    count: async (accountID) => (await run<{ n: number }>(pool, 'SELECT count(*) AS n FROM devices WHERE account_id = $1', [accountID])).rows[0]!.n,
    exists: async (accountID, deviceID) => (await run(pool, 'SELECT 1 FROM devices WHERE account_id = $1 AND id = $2', [accountID, deviceID])).rows.length > 0,
  }
}
