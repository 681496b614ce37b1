// Guest accounts (contract §12): the upgrade to a full account and the sweep of idle guests.
import type { Database } from 'better-sqlite3'
import { DeviceGone, NotGuest, UniqueViolation } from './errors.ts'
import type { BoundThirdPID } from './accounts.ts'
import type { ProfileClaims } from '../types/schemas.ts'

export interface GuestUpgrade {
  accountID: string
  /** The session asking: its device must still exist (else DeviceGone). */
  actorDeviceID: string
  username: string | null
  thirdPIDs: readonly BoundThirdPID[]
  passwordHash: string | null
  /** Merged into the stored claims (null deletes). */
  profile: ProfileClaims
  now: number
}

export interface GuestOps {
  /**
   * Turns a guest into a full account in one transaction: names, password and claims set, the guest flag
   * cleared and the credentials epoch bumped; the user ID, devices and tokens stay. Another account's
   * unverified claim on one of the 3PIDs is dropped, as at registration. Throws DeviceGone, NotGuest
   * (upgraded already, e.g. by a concurrent request) or UniqueViolation (a username or verified 3PID is taken).
   */
  upgradeGuest(upgrade: GuestUpgrade): Promise<void>
  /**
   * Deletes guest accounts created before `cutoff` (ms) none of whose devices has been seen since;
   * their devices, tokens and links go with them (foreign keys). Returns the deleted account IDs.
   */
  purgeIdleGuests(cutoff: number): Promise<string[]>
}

export function createGuestOps(db: Database): GuestOps {
  const deviceExists = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM devices WHERE account_id = ? AND id = ?')
  const selectGuest = db.prepare<[string], { guest: number; profile: string }>('SELECT guest, profile FROM accounts WHERE id = ?')
  const update = db.prepare(
    `UPDATE accounts SET username = @username, password_hash = @passwordHash, profile = @profile, guest = 0,
       credentials_epoch = credentials_epoch + 1, updated_at = @now
     WHERE id = @accountID AND guest = 1`,
  )
  const insertThirdPID = db.prepare('INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES (?, ?, ?, ?, ?)')
  // As at registration (accounts.create): another account's unverified claim gives way, with its codes and tokens.
  const dropClaim = db.prepare<[string, string, string], { account_id: string }>(
    'DELETE FROM thirdpids WHERE medium = ? AND address = ? AND verified = 0 AND account_id <> ? RETURNING account_id',
  )
  const dropCodesFor = db.prepare('DELETE FROM verification_codes WHERE account_id = ? AND medium = ? AND address = ?')
  const dropTokensFor = db.prepare('DELETE FROM verification_tokens WHERE account_id = ? AND medium = ? AND address = ?')
  const purge = db.prepare<{ cutoff: number }, { id: string }>(
    `DELETE FROM accounts WHERE guest = 1 AND created_at < @cutoff
       AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.account_id = accounts.id AND d.last_seen_at >= @cutoff)
     RETURNING id`,
  )

  const upgrade = db.transaction((u: GuestUpgrade) => {
    if (!deviceExists.get(u.accountID, u.actorDeviceID)) throw new DeviceGone()
    const row = selectGuest.get(u.accountID)
    if (row?.guest !== 1) throw new NotGuest()
    const merged = new Map(Object.entries(JSON.parse(row.profile) as ProfileClaims))
    for (const [key, value] of Object.entries(u.profile)) {
      if (value === null) merged.delete(key)
      else merged.set(key, value)
    }
    const params = { accountID: u.accountID, username: u.username, passwordHash: u.passwordHash, profile: JSON.stringify(Object.fromEntries(merged)), now: u.now }
    uniqueOr('username', () => update.run(params))
    for (const t of u.thirdPIDs) {
      for (const { account_id } of dropClaim.all(t.type, t.value, u.accountID)) {
        dropCodesFor.run(account_id, t.type, t.value)
        dropTokensFor.run(account_id, t.type, t.value)
      }
      uniqueOr('thirdPID', () => insertThirdPID.run(t.type, t.value, u.accountID, t.verified ? 1 : 0, u.now))
    }
  })

  return {
    upgradeGuest: async (u) => upgrade.immediate(u),
    // all(): an unfinished DELETE … RETURNING skips SQLite's auto-checkpoint (test/unit/store-wal.test.ts).
    purgeIdleGuests: async (cutoff) => purge.all({ cutoff }).map((row) => row.id),
  }
}

function uniqueOr<T>(field: UniqueViolation['field'], write: () => T): T {
  try {
    return write()
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new UniqueViolation(field)
    throw error
  }
}
