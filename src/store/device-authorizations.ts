// Device authorization grants (RFC 8628 over the socket): a user code shown by a device without a
// keyboard, approved or denied from a signed-in device, collected once as a new device.
import type { Database } from 'better-sqlite3'
import { prepareDeviceInsert } from './devices.ts'
import { CredentialsChanged, DeviceGone, DeviceLimit } from './errors.ts'
import { delivered, grantColumns, grantedDevice, pollOutcome, recordsPoll, refused, userCodeHasher, type GrantRow } from './rows/device-authorizations.ts'

export interface NewGrant {
  id: string
  /** Normalized (8 letters, no dash): only its keyed hash is stored. */
  userCode: string
  deviceCodeHash: Buffer
  deviceName: string
  now: number
  expiresAt: number
}

export interface Approver {
  accountID: string
  /** The approving device: the write is made on its behalf (DeviceGone when it is gone). */
  deviceID: string
  /** The approver's credentials epoch as read now; the eventual device insert re-checks it. */
  credentialsEpoch: number
}

export type PollOutcome =
  | { outcome: 'unknown' }
  | { outcome: 'too_soon'; retryAfter: number }
  | { outcome: 'pending' | 'denied' | 'expired' }
  | { outcome: 'approved'; id: string }

export type CollectOutcome =
  | { outcome: 'ok'; accountID: string; deviceID: string; deviceName: string }
  /** Not approved (anymore): collected already, denied or expired. */
  | { outcome: 'gone' }
  /** The approver's credentials changed, or the account holds `maxDevices`: the grant is now denied. */
  | { outcome: 'refused'; maxDevices?: number }

export interface DeviceAuthorizationStore {
  /** Stores a pending grant; false (nothing stored) when another stored grant has the same user code. */
  create(grant: NewGrant): Promise<boolean>
  /** Approves the pending, unexpired grant with this user code, reserving `deviceID`; undefined if there is none. */
  approve(userCode: string, approver: Approver, deviceID: string, now: number): Promise<{ id: string; deviceName: string } | undefined>
  /** Denies the pending, unexpired grant with this user code on behalf of `actor`; its id, or undefined. */
  deny(userCode: string, actor: { accountID: string; deviceID: string }, now: number): Promise<string | undefined>
  /** Where the grant of this device code stands; records the poll, unless it came sooner than `intervalMs` after the last. */
  poll(deviceCodeHash: Buffer, now: number, intervalMs: number): Promise<PollOutcome>
  /**
   * Inserts the approved grant's device with `tokenHash` through the same checked insert as a login
   * (the approver still active with the epoch of the approval, under maxDevices) and marks the grant
   * delivered, in one transaction: a grant is collected at most once.
   */
  collect(id: string, device: { tokenHash: Buffer; ip: string; now: number; maxDevices: number }): Promise<CollectOutcome>
  /** Deletes grants that expired before `before`. */
  prune(before: number): Promise<number>
}

export function createDeviceAuthorizationStore(db: Database, secret: Buffer): DeviceAuthorizationStore {
  const hashUserCode = userCodeHasher(secret)
  const insertDevice = prepareDeviceInsert(db, secret)
  const insert = db.prepare(
    `INSERT INTO device_authorizations (id, user_code_hash, device_code_hash, device_name, expires_at, created_at)
     VALUES (@id, @userCodeHash, @deviceCodeHash, @deviceName, @expiresAt, @now)`,
  )
  const deviceExists = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM devices WHERE account_id = ? AND id = ?')
  const approveRow = db.prepare<[string, string, number, Buffer, number], { id: string; device_name: string }>(
    `UPDATE device_authorizations SET state = 'approved', account_id = ?, device_id = ?, credentials_epoch = ?
     WHERE user_code_hash = ? AND state = 'pending' AND expires_at > ? RETURNING id, device_name`,
  )
  const denyRow = db.prepare<[Buffer, number], { id: string }>(
    `UPDATE device_authorizations SET state = 'denied' WHERE user_code_hash = ? AND state = 'pending' AND expires_at > ? RETURNING id`,
  )
  const byDeviceCode = db.prepare<[Buffer], GrantRow>(`SELECT ${grantColumns} FROM device_authorizations WHERE device_code_hash = ?`)
  const byID = db.prepare<[string], GrantRow>(`SELECT ${grantColumns} FROM device_authorizations WHERE id = ?`)
  const setPolled = db.prepare('UPDATE device_authorizations SET last_poll_at = ? WHERE id = ?')
  const setState = db.prepare('UPDATE device_authorizations SET state = ? WHERE id = ?')
  const prune = db.prepare('DELETE FROM device_authorizations WHERE expires_at < ?')

  const requireDevice = (accountID: string, deviceID: string) => {
    if (!deviceExists.get(accountID, deviceID)) throw new DeviceGone()
  }
  const approve = db.transaction((userCode: string, approver: Approver, deviceID: string, now: number) => {
    requireDevice(approver.accountID, approver.deviceID)
    const row = approveRow.all(approver.accountID, deviceID, approver.credentialsEpoch, hashUserCode(userCode), now)[0]
    return row && { id: row.id, deviceName: row.device_name }
  })
  const deny = db.transaction((userCode: string, actor: { accountID: string; deviceID: string }, now: number) => {
    requireDevice(actor.accountID, actor.deviceID)
    return denyRow.all(hashUserCode(userCode), now)[0]?.id
  })
  const poll = db.transaction((deviceCodeHash: Buffer, now: number, intervalMs: number): PollOutcome => {
    const row = byDeviceCode.get(deviceCodeHash)
    const outcome = pollOutcome(row, now, intervalMs)
    if (row && recordsPoll(outcome)) setPolled.run(now, row.id)
    return outcome
  })
  const collect = db.transaction((id: string, device: { tokenHash: Buffer; ip: string; now: number; maxDevices: number }): CollectOutcome => {
    const row = byID.get(id)
    if (!row || row.state !== 'approved' || row.expires_at <= device.now) return { outcome: 'gone' }
    try {
      insertDevice(grantedDevice(row, device), row.device_id!)
    } catch (error) {
      // The nested insert rolled back only its own savepoint: the grant can still be marked denied.
      if (!(error instanceof CredentialsChanged || error instanceof DeviceLimit)) throw error
      setState.run('denied', id)
      return refused(error)
    }
    setState.run('delivered', id)
    return delivered(row)
  })

  return {
    async create(grant) {
      try {
        insert.run({ ...grant, userCodeHash: hashUserCode(grant.userCode) })
        return true
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false
        throw error
      }
    },
    approve: async (userCode, approver, deviceID, now) => approve.immediate(userCode, approver, deviceID, now),
    deny: async (userCode, actor, now) => deny.immediate(userCode, actor, now),
    poll: async (deviceCodeHash, now, intervalMs) => poll.immediate(deviceCodeHash, now, intervalMs),
    collect: async (id, device) => collect.immediate(id, device),
    prune: async (before) => prune.run(before).changes,
  }
}
