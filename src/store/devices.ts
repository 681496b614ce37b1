// Devices: one per login, each with one authToken (only its SHA-256 is stored) and a sealed push token.
import type { Database, Transaction } from 'better-sqlite3'
import { generateDeviceID } from '../auth/tokens.ts'
import { AccountInactive, CredentialsChanged, DeviceGone, DeviceLimit, LinkChanged, LoginBlocked } from './errors.ts'
import { seal, unseal } from './sealing.ts'
import { createDeviceLifetimeStore, type DeviceLifetimeStore, type SqliteDeviceLifetimeStore } from './device-lifetime.ts'
import { commitEach, type GroupCommit } from './group-commit.ts'
import type { SharedRead } from './shared-read.ts'
import { deviceColumns, toDevice, type DeviceRow } from './rows/devices.ts'

export interface Device {
  id: string
  accountID: string
  name: string
  pushToken: string | null
  createdAt: number
  lastSeenAt: number
  lastIP: string | null
}

export interface NewDevice {
  accountID: string
  tokenHash: Buffer
  name: string
  pushToken: string | null
  ip: string
  now: number
  /**
   * What the login read before its await, re-checked in the insert's transaction: the account still has
   * this credentials epoch (else CredentialsChanged), is active (else AccountInactive) and holds fewer than `maxDevices`
   * devices (else DeviceLimit); with `link`, a provider login, that identity is still linked to the account
   * (else LinkChanged, checked first). Absent only where no login is involved (seeding in tests).
   * With `settleLoginAt` (a password login: when its argon2 verification ended), the login's backoff is
   * settled under the same lock: a block in place at that time refuses with LoginBlocked (a concurrent
   * wrong password landed meanwhile), and the insert clears the account's failure count.
   */
  expect?: { credentialsEpoch: number; maxDevices: number; link?: { providerID: string; sub: string }; settleLoginAt?: number }
}

export interface DeviceStore extends DeviceLifetimeStore {
  /** Creates a device with a fresh deviceID (collisions retried) and the hash of its token; see NewDevice.expect. */
  create(device: NewDevice): Promise<Device>
  byID(accountID: string, deviceID: string): Promise<Device | undefined>
  list(accountID: string): Promise<Device[]>
  /** Renames one of the account's devices on behalf of `actorDeviceID` (DeviceGone when that one is gone); false: no such device. */
  rename(accountID: string, deviceID: string, name: string, actorDeviceID: string): Promise<boolean>
  /** Sets the device's own push token; DeviceGone when the device was revoked meanwhile. */
  setPushToken(accountID: string, deviceID: string, pushToken: string): Promise<void>
  /**
   * Deletes one device (its token and sudo tokens die with it); false when it was not the account's.
   * With `actorDeviceID` (revoking another device), DeviceGone when the actor's own device is gone.
   */
  revoke(accountID: string, deviceID: string, actorDeviceID?: string): Promise<boolean>
  /**
   * Deletes every device of the account; returns the deleted ids. On behalf of `actorDeviceID` (a logout
   * of all devices): DeviceGone, and nothing deleted, when that device is already gone.
   */
  revokeAll(accountID: string, actorDeviceID?: string): Promise<string[]>
  count(accountID: string): Promise<number>
  /** Whether the device still exists (not revoked, by this process or another): the per-request session check. */
  exists(accountID: string, deviceID: string): Promise<boolean>
}

/**
 * Push tokens let whoever holds them push to the device (they are bearer credentials at the push
 * service), so they are sealed under the outbox key like queued codes, bound to their device:
 * "sealed:" + base64(IV ‖ tag ‖ ciphertext) in the TEXT column.
 */
const sealedPrefix = 'sealed:'
const pushContext = (deviceID: string) => `hafnium-push-v1:${deviceID}`

export function sealPushToken(key: Buffer, deviceID: string, token: string): string {
  return sealedPrefix + seal(key, pushContext(deviceID), Buffer.from(token)).toString('base64')
}

export function openPushToken(key: Buffer, deviceID: string, stored: string | null): string | null {
  if (stored === null || !stored.startsWith(sealedPrefix)) return stored
  try {
    return unseal(key, pushContext(deviceID), Buffer.from(stored.slice(sealedPrefix.length), 'base64')).toString()
  } catch {
    return null // sealed under a replaced key: the device registers its token again
  }
}

/** Rows written before push tokens were sealed: sealed in place at start (one transaction). */
export function sealLegacyPushTokens(db: Database, key: Buffer): void {
  const rows = db
    .prepare<[], { id: string; push_token: string }>(`SELECT id, push_token FROM devices WHERE push_token IS NOT NULL AND push_token NOT LIKE 'sealed:%'`)
    .all()
  if (rows.length === 0) return
  const update = db.prepare('UPDATE devices SET push_token = ? WHERE id = ?')
  db.transaction(() => {
    for (const row of rows) update.run(sealPushToken(key, row.id, row.push_token), row.id)
  }).immediate()
}

/**
 * The one device insert (logins, registration, device authorization): a transaction that re-checks
 * NewDevice.expect before inserting under `id` (its push token sealed with `key`). Callable inside another
 * store transaction (it nests as a savepoint), so an operation that must insert a device together with
 * its own writes uses it too.
 */
export function prepareDeviceInsert(db: Database, key: Buffer): Transaction<(device: NewDevice, id: string) => void> {
  const insert = db.prepare(
    `INSERT INTO devices (id, account_id, token_hash, name, push_token, created_at, last_seen_at, last_ip)
     VALUES (@id, @accountID, @tokenHash, @name, @pushToken, @now, @now, @ip)`,
  )
  const countFor = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM devices WHERE account_id = ?')
  const accountState = db.prepare<[string], { status: string; credentials_epoch: number; failed_logins: number; login_blocked_until: number }>(
    'SELECT status, credentials_epoch, failed_logins, login_blocked_until FROM accounts WHERE id = ?',
  )
  const clearFailures = db.prepare('UPDATE accounts SET failed_logins = 0, login_blocked_until = 0 WHERE id = ?')
  const linkedTo = db.prepare<[string, string], { account_id: string }>('SELECT account_id FROM provider_links WHERE provider_id = ? AND sub = ?')
  return db.transaction((device: NewDevice, id: string) => {
    if (device.expect) {
      const link = device.expect.link
      if (link && linkedTo.get(link.providerID, link.sub)?.account_id !== device.accountID) throw new LinkChanged()
      const state = accountState.get(device.accountID)
      const settle = device.expect.settleLoginAt
      if (settle !== undefined && state && state.login_blocked_until > settle) throw new LoginBlocked(state.login_blocked_until)
      if (!state || state.credentials_epoch !== device.expect.credentialsEpoch) throw new CredentialsChanged()
      if (state.status !== 'active') throw new AccountInactive(state.status as 'disabled' | 'pending')
      if (countFor.get(device.accountID)!.n >= device.expect.maxDevices) throw new DeviceLimit(device.expect.maxDevices)
      if (settle !== undefined && state.failed_logins > 0) clearFailures.run(device.accountID)
    }
    const pushToken = device.pushToken === null ? null : sealPushToken(key, id, device.pushToken)
    insert.run({ accountID: device.accountID, tokenHash: device.tokenHash, name: device.name, pushToken, ip: device.ip, now: device.now, id })
  })
}

/** SQLite's device store: byTokenWithAccount is added in ./index.ts (see SqliteDeviceLifetimeStore). */
export type SqliteDeviceStore = Omit<DeviceStore, keyof DeviceLifetimeStore> & SqliteDeviceLifetimeStore

export function createDeviceStore(db: Database, key: Buffer, writes: Pick<GroupCommit, 'run'> = commitEach, reads?: Pick<SharedRead, 'run'>): SqliteDeviceStore {
  const selectOne = db.prepare<[string, string], DeviceRow>(`SELECT ${deviceColumns} FROM devices WHERE account_id = ? AND id = ?`)
  const selectAll = db.prepare<[string], DeviceRow>(`SELECT ${deviceColumns} FROM devices WHERE account_id = ? ORDER BY created_at, id`)
  const updateName = db.prepare('UPDATE devices SET name = ? WHERE account_id = ? AND id = ?')
  const updatePush = db.prepare('UPDATE devices SET push_token = ? WHERE account_id = ? AND id = ?')
  const deleteOne = db.prepare('DELETE FROM devices WHERE account_id = ? AND id = ?')
  const deleteAll = db.prepare<[string], { id: string }>('DELETE FROM devices WHERE account_id = ? RETURNING id')
  const countFor = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM devices WHERE account_id = ?')
  const exists = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM devices WHERE account_id = ? AND id = ?')
  const requireDevice = (accountID: string, deviceID: string) => {
    if (!exists.get(accountID, deviceID)) throw new DeviceGone()
  }

  const insertChecked = prepareDeviceInsert(db, key)
  const renameChecked = db.transaction((accountID: string, deviceID: string, name: string, actorDeviceID: string) => {
    requireDevice(accountID, actorDeviceID)
    return updateName.run(name, accountID, deviceID).changes === 1
  })
  const revokeAllChecked = db.transaction((accountID: string, actorDeviceID: string) => {
    requireDevice(accountID, actorDeviceID)
    return deleteAll.all(accountID).map((r) => r.id)
  })
  const revokeChecked = db.transaction((accountID: string, deviceID: string, actorDeviceID: string) => {
    requireDevice(accountID, actorDeviceID)
    return deleteOne.run(accountID, deviceID).changes === 1
  })

  return {
    ...createDeviceLifetimeStore(db, writes, reads),
    async create(device) {
      for (let attempt = 0; ; attempt++) {
        const id = generateDeviceID()
        try {
          insertChecked.immediate(device, id)
          return { id, accountID: device.accountID, name: device.name, pushToken: device.pushToken, createdAt: device.now, lastSeenAt: device.now, lastIP: device.ip }
        } catch (error) {
          // 36^10 ids: a collision is rare; anything else (or a third collision) is a real failure.
          if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY' || attempt === 2) throw error
        }
      }
    },
    async byID(accountID, deviceID) {
      const row = selectOne.get(accountID, deviceID)
      return row && toDevice(row, key)
    },
    list: async (accountID) => selectAll.all(accountID).map((row) => toDevice(row, key)),
    rename: async (accountID, deviceID, name, actorDeviceID) => renameChecked.immediate(accountID, deviceID, name, actorDeviceID),
    async setPushToken(accountID, deviceID, pushToken) {
      if (updatePush.run(sealPushToken(key, deviceID, pushToken), accountID, deviceID).changes !== 1) throw new DeviceGone()
    },
    revoke: async (accountID, deviceID, actorDeviceID) =>
      actorDeviceID === undefined || actorDeviceID === deviceID
        ? deleteOne.run(accountID, deviceID).changes === 1
        : revokeChecked.immediate(accountID, deviceID, actorDeviceID),
    revokeAll: async (accountID, actorDeviceID) =>
      actorDeviceID === undefined ? deleteAll.all(accountID).map((r) => r.id) : revokeAllChecked.immediate(accountID, actorDeviceID),
    count: async (accountID) => countFor.get(accountID)!.n,
    exists: async (accountID, deviceID) => exists.get(accountID, deviceID) !== undefined,
  }
}
