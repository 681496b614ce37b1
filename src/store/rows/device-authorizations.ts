// The device_authorizations row as both engines select it, and the decisions both take on it (the
// engines differ only in how they lock the row and write the outcome).
import { createHmac, hkdfSync } from 'node:crypto'
import type { CollectOutcome, PollOutcome } from '../device-authorizations.ts'
import type { NewDevice } from '../devices.ts'
import { DeviceLimit } from '../errors.ts'

export interface GrantRow {
  id: string
  device_name: string
  state: 'pending' | 'approved' | 'denied' | 'delivered'
  account_id: string | null
  device_id: string | null
  credentials_epoch: number | null
  last_poll_at: number
  expires_at: number
}

export const grantColumns = 'id, device_name, state, account_id, device_id, credentials_epoch, last_poll_at, expires_at'

/**
 * User codes are stored as HMAC-SHA256(key, code): 20^8 ≈ 2.6·10^10 codes fall to a plain hash in
 * seconds offline; the key (derived from the outbox key, kept outside the database) means the database
 * alone gives no live code away. Device codes carry 256 random bits: SHA-256 is enough for them.
 */
export function userCodeHasher(secret: Buffer): (code: string) => Buffer {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'hafnium device user codes', 32))
  return (code) => createHmac('sha256', key).update(code).digest()
}

/** Where a grant stands for a poll at `now`; every outcome but unknown and too_soon records the poll (last_poll_at = now). */
export function pollOutcome(row: GrantRow | undefined, now: number, intervalMs: number): PollOutcome {
  if (!row) return { outcome: 'unknown' }
  const wait = row.last_poll_at + intervalMs - now
  if (wait > 0) return { outcome: 'too_soon', retryAfter: wait }
  if (row.state === 'denied') return { outcome: 'denied' }
  if (row.state === 'delivered' || row.expires_at <= now) return { outcome: 'expired' }
  return row.state === 'approved' ? { outcome: 'approved', id: row.id } : { outcome: 'pending' }
}

export const recordsPoll = (outcome: PollOutcome) => outcome.outcome !== 'unknown' && outcome.outcome !== 'too_soon'

/** The device an approved grant becomes, re-checked against the approval (the approver's epoch, the cap). */
export function grantedDevice(row: GrantRow, device: { tokenHash: Buffer; ip: string; now: number; maxDevices: number }): NewDevice {
  return {
    accountID: row.account_id!,
    tokenHash: device.tokenHash,
    name: row.device_name,
    pushToken: null,
    ip: device.ip,
    now: device.now,
    expect: { credentialsEpoch: row.credentials_epoch!, maxDevices: device.maxDevices },
  }
}

/** A collect whose insert was refused (CredentialsChanged or DeviceLimit): the grant is then denied. */
export const refused = (error: Error): CollectOutcome => (error instanceof DeviceLimit ? { outcome: 'refused', maxDevices: error.max } : { outcome: 'refused' })

export const delivered = (row: GrantRow): CollectOutcome => ({ outcome: 'ok', accountID: row.account_id!, deviceID: row.device_id!, deviceName: row.device_name })
