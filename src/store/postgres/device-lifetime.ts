// Token presentation, rotation, last-seen and expiry on PostgreSQL (contracts in ../device-lifetime.ts).
import type pg from 'pg'
import { tokenSlot, type DeviceLifetimeStore, type TokenHolder, type Presented, type SeenEntry } from '../device-lifetime.ts'
import type { AccountStatus } from '../accounts.ts'
import { run, transaction, type Queryable } from './db.ts'
import { batchedRead } from './batched-read.ts'
import { deviceTokenColumns, type DeviceTokenRow } from '../rows/devices.ts'

/** profile:auth's read: the device's token columns and lifetime, joined with its account's user ID and status. */
type TokenHolderRow = DeviceTokenRow & { created_at: number; last_seen_at: number; user_id: string; status: AccountStatus }
const tokenHolderSelect = `SELECT d.id, d.account_id, d.token_hash, d.prev_token_hash, d.prev_retired_at, d.created_at, d.last_seen_at,
  a.user_id, a.status FROM devices d JOIN accounts a ON a.id = d.account_id`
const toTokenHolder = (row: TokenHolderRow, tokenHash: Buffer): TokenHolder => ({ ...tokenSlot(row, tokenHash), userID: row.user_id, status: row.status })

// One statement for a whole batch: unnest the arrays, never move a last-seen time back.
async function touchAll(db: Queryable, entries: readonly SeenEntry[]): Promise<void> {
  if (entries.length === 0) return
  // One row per device (UPDATE … FROM applies only one match per row): its latest sighting.
  const latest = new Map<string, SeenEntry>()
  for (const e of entries) if ((latest.get(e.deviceID)?.at ?? -Infinity) <= e.at) latest.set(e.deviceID, e)
  entries = [...latest.values()]
  await db.query(
    `UPDATE devices d SET last_seen_at = GREATEST(d.last_seen_at, s.at), last_ip = s.ip
     FROM unnest($1::text[], $2::bigint[], $3::text[]) AS s(id, at, ip) WHERE d.id = s.id`,
    [entries.map((e) => e.deviceID), entries.map((e) => e.at), entries.map((e) => e.ip)],
  )
}

export function createDeviceLifetimeStore(pool: pg.Pool): DeviceLifetimeStore {
  // The token look-ups of one event-loop turn in one statement (batched-read.ts). A hash is found as the
  // current or the retired token of at most one device (256 random bits), as with one look-up each.
  const holderOf = batchedRead(
    async (hashes: Buffer[]) => {
      const rows = (await run<TokenHolderRow>(pool, `${tokenHolderSelect} WHERE d.token_hash = ANY($1::bytea[]) OR d.prev_token_hash = ANY($1::bytea[])`, [hashes])).rows
      const found = new Map<string, TokenHolderRow>()
      for (const row of rows) {
        for (const hash of [row.token_hash, row.prev_token_hash]) {
          const key = hash?.toString('hex')
          if (key !== undefined && !found.has(key)) found.set(key, row)
        }
      }
      return found
    },
    (hash) => hash.toString('hex'),
  )
  return {
    async byToken(tokenHash) {
      const row = (
        await run<DeviceTokenRow & { created_at: number; last_seen_at: number }>(
          pool,
          `SELECT ${deviceTokenColumns}, created_at, last_seen_at FROM devices WHERE token_hash = $1 OR prev_token_hash = $1`,
          [tokenHash],
        )
      ).rows[0]
      return row && tokenSlot(row, tokenHash)
    },
    // profile:auth's read: the device and its account's status in one statement, shared with the other
    // look-ups of the same turn (no read cache on PostgreSQL, so a revocation or a disabled account on
    // another node is seen at once).
    async byTokenWithAccount(tokenHash) {
      const row = await holderOf(tokenHash)
      return row && toTokenHolder(row, tokenHash)
    },
    // The device row is locked while it is compared and swapped: two presentations cannot fork the chain.
    // The commonest case, the current token without rotation, writes nothing, so one read decides it (as
    // on SQLite): no transaction, and no commit to wait for — SELECT … FOR UPDATE takes a transaction ID,
    // so that COMMIT waited for a WAL flush with synchronous_commit on.
    present: async (deviceID, tokenHash, next, now, graceMs) => {
      if (!next) {
        const current = (await run<{ token_hash: Buffer }>(pool, 'SELECT token_hash FROM devices WHERE id = $1', [deviceID])).rows[0]
        if (current?.token_hash.equals(tokenHash)) return 'ok'
      }
      return transaction(pool, async (db): Promise<Presented> => {
        const row = (
          await db.query<DeviceTokenRow>(`SELECT ${deviceTokenColumns} FROM devices WHERE id = $1 FOR UPDATE`, [deviceID])
        ).rows[0]
        if (!row) return 'gone'
        if (row.token_hash.equals(tokenHash)) {
          if (next) await db.query('UPDATE devices SET prev_token_hash = $1, prev_retired_at = $2, token_hash = $3 WHERE id = $4', [tokenHash, now, next, deviceID])
          return 'ok'
        }
        if (!row.prev_token_hash?.equals(tokenHash)) return 'gone'
        if (now - row.prev_retired_at! > graceMs) {
          await db.query('DELETE FROM devices WHERE id = $1', [deviceID])
          return 'replayed'
        }
        if (next) await db.query('UPDATE devices SET token_hash = $1 WHERE id = $2', [next, deviceID])
        return 'ok'
      })
    },
    touchMany: (entries) => transaction(pool, (db) => touchAll(db, entries)),
    expire: (seen, idleBefore, createdBefore) =>
      transaction(pool, async (db) => {
        await touchAll(db, seen)
        const deleted = await db.query<{ id: string; account_id: string }>(
          'DELETE FROM devices WHERE last_seen_at < $1 OR created_at < $2 RETURNING id, account_id',
          [idleBefore, createdBefore],
        )
        return deleted.rows.map((row) => ({ deviceID: row.id, accountID: row.account_id }))
      }),
  }
}
