// The devices row as both engines select it: a device, and the token columns of its lifetime (presentation, rotation).
import type { Device } from '../devices.ts'
import { openPushToken } from '../devices.ts'

export interface DeviceRow {
  id: string
  account_id: string
  name: string
  push_token: string | null
  created_at: number
  last_seen_at: number
  last_ip: string | null
}

export const deviceColumns = 'id, account_id, name, push_token, created_at, last_seen_at, last_ip'

/** `key` opens the sealed push token (see ../devices.ts). */
export const toDevice = (row: DeviceRow, key: Buffer): Device => ({
  id: row.id,
  accountID: row.account_id,
  name: row.name,
  pushToken: openPushToken(key, row.id, row.push_token),
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  lastIP: row.last_ip,
})

/** A device's current and retired token hashes (token presentation and rotation, ../device-lifetime.ts). */
export interface DeviceTokenRow {
  id: string
  account_id: string
  token_hash: Buffer
  prev_token_hash: Buffer | null
  prev_retired_at: number | null
}

export const deviceTokenColumns = 'id, account_id, token_hash, prev_token_hash, prev_retired_at'
