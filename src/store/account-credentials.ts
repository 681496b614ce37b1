// The account writes that race with logins and sessions: credential changes (password, status) with their
// revocations, the password rehash, the profile merge and the login backoff. Each is one transaction that
// re-checks, inside it, what the caller read before its await (issue 11: compare-and-swap, not timing).
import type { Database } from 'better-sqlite3'
import { commitEach, type GroupCommit } from './group-commit.ts'
import { CredentialsChanged, DeviceGone } from './errors.ts'
import type { AccountStatus } from './accounts.ts'
import type { ProfileClaims } from '../types/schemas.ts'

export interface CredentialChange {
  accountID: string
  /** A new password hash; absent leaves the password as it is. */
  passwordHash?: string
  /** A new status; absent leaves it. */
  status?: AccountStatus
  /** Compare-and-swap: the change applies only while the stored hash is still this one (the hash just verified). */
  expectHash?: string | null
  /**
   * The session the change is made on behalf of: its device must still exist (else DeviceGone) and, with
   * `keepActor`, it keeps its device while every other one is deleted.
   */
  actor?: { deviceID: string; keepActor: boolean }
  /** Also forget the account's failed logins (a reset or an admin password change). */
  clearFailures?: boolean
  /**
   * Also drop the account's unverified 3PIDs with their codes and tokens (a reset: it proved one address,
   * and an unproven one may be an attacker's way back in — pre-account hijacking).
   */
  dropUnverified?: boolean
  now: number
}

export interface CredentialOps {
  /**
   * Applies the change, bumps the credentials epoch and deletes the account's devices (all, or all but the
   * actor's) and every sudo token, in one transaction. Returns the deleted device IDs. Throws DeviceGone
   * (the actor's device was revoked meanwhile) or CredentialsChanged (expectHash no longer matches).
   */
  changeCredentials(change: CredentialChange): Promise<string[]>
  /**
   * Replaces the password hash with a rehash of the same password (new parameters) unless it changed
   * since `oldHash` was verified; the epoch stays, since the password is the same. false: it changed.
   */
  rehashPassword(accountID: string, oldHash: string, newHash: string, now: number): Promise<boolean>
  /**
   * Reads the stored claims, merges `patch` into them (null deletes) and writes the result, in one
   * transaction, on behalf of `actorDeviceID` (DeviceGone when that device is gone).
   */
  mergeProfile(accountID: string, actorDeviceID: string, patch: ProfileClaims, now: number): Promise<void>
  /**
   * Counts a failed password login, re-checking the block in the same transaction: not counted (counted
   * false, with the block in place) while password logins are blocked at `now` — a concurrent failure
   * set it after this login's check before argon2, so this one answers as if it came after (refused);
   * otherwise counted and the block set to `blockUntil(failures)` from the fresh count, never shortening
   * one already in place (MAX).
   */
  recordLoginFailure(accountID: string, now: number, blockUntil: (failures: number) => number): Promise<LoginFailure>
  // A successful password login's settling (clear the count unless a block landed meanwhile) is done by
  // the device insert under the same lock: NewDevice.expect.settleLoginAt.
}

export interface LoginFailure {
  counted: boolean
  /** The consecutive failures counted, this one included when counted. */
  failures: number
  blockedUntil: number
}

export function createCredentialOps(db: Database, writes: Pick<GroupCommit, 'run'> = commitEach): CredentialOps {
  const deviceExists = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM devices WHERE account_id = ? AND id = ?')
  const update = db.prepare(
    `UPDATE accounts SET password_hash = coalesce(@passwordHash, password_hash), status = coalesce(@status, status),
       credentials_epoch = credentials_epoch + 1, updated_at = @now
     WHERE id = @accountID AND (@checkHash = 0 OR password_hash IS @expectHash)`,
  )
  const clearFailures = db.prepare('UPDATE accounts SET failed_logins = 0, login_blocked_until = 0 WHERE id = ?')
  const deleteDevices = db.prepare<[string, string], { id: string }>('DELETE FROM devices WHERE account_id = ? AND id != ? RETURNING id')
  const deleteSudo = db.prepare('DELETE FROM sudo_tokens WHERE account_id = ?')
  const deleteUnverified = db.prepare<[string], { medium: string; address: string }>(
    'DELETE FROM thirdpids WHERE account_id = ? AND verified = 0 RETURNING medium, address',
  )
  const deleteCodesFor = db.prepare('DELETE FROM verification_codes WHERE account_id = ? AND medium = ? AND address = ?')
  const deleteTokensFor = db.prepare('DELETE FROM verification_tokens WHERE account_id = ? AND medium = ? AND address = ?')
  const rehash = db.prepare('UPDATE accounts SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?')
  const selectProfile = db.prepare<[string], { profile: string }>('SELECT profile FROM accounts WHERE id = ?')
  const updateProfile = db.prepare('UPDATE accounts SET profile = ?, updated_at = ? WHERE id = ?')
  const countFailure = db.prepare<[string, number], { failed_logins: number; login_blocked_until: number }>(
    'UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = ? AND login_blocked_until <= ? RETURNING failed_logins, login_blocked_until',
  )
  const selectFailures = db.prepare<[string], { failed_logins: number; login_blocked_until: number }>(
    'SELECT failed_logins, login_blocked_until FROM accounts WHERE id = ?',
  )
  const block = db.prepare('UPDATE accounts SET login_blocked_until = ? WHERE id = ?')

  const requireDevice = (accountID: string, deviceID: string) => {
    if (!deviceExists.get(accountID, deviceID)) throw new DeviceGone()
  }

  const change = db.transaction((c: CredentialChange): string[] => {
    if (c.actor) requireDevice(c.accountID, c.actor.deviceID)
    const params = {
      accountID: c.accountID,
      passwordHash: c.passwordHash ?? null,
      status: c.status ?? null,
      checkHash: c.expectHash === undefined ? 0 : 1,
      expectHash: c.expectHash ?? null,
      now: c.now,
    }
    if (update.run(params).changes !== 1) throw new CredentialsChanged()
    if (c.clearFailures) clearFailures.run(c.accountID)
    if (c.dropUnverified) {
      for (const { medium, address } of deleteUnverified.all(c.accountID)) {
        deleteCodesFor.run(c.accountID, medium, address)
        deleteTokensFor.run(c.accountID, medium, address)
      }
    }
    deleteSudo.run(c.accountID)
    // all(): see accounts.recordLoginFailure on unfinished RETURNING statements.
    return deleteDevices.all(c.accountID, c.actor?.keepActor ? c.actor.deviceID : '').map((row) => row.id)
  })

  const merge = db.transaction((accountID: string, actorDeviceID: string, patch: ProfileClaims, now: number) => {
    requireDevice(accountID, actorDeviceID)
    const row = selectProfile.get(accountID)
    if (!row) throw new DeviceGone()
    const merged = new Map(Object.entries(JSON.parse(row.profile) as ProfileClaims))
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) merged.delete(key)
      else merged.set(key, value)
    }
    // fromEntries defines keys, never invokes a `__proto__` setter.
    updateProfile.run(JSON.stringify(Object.fromEntries(merged)), now, accountID)
  })

  const fail = db.transaction((accountID: string, now: number, blockUntil: (failures: number) => number): LoginFailure => {
    // all(), not get(): an unfinished UPDATE … RETURNING skips SQLite's auto-checkpoint (test/unit/store-wal.test.ts).
    const row = countFailure.all(accountID, now)[0]
    if (!row) {
      const blocked = selectFailures.get(accountID)
      return { counted: false, failures: blocked?.failed_logins ?? 0, blockedUntil: blocked?.login_blocked_until ?? 0 }
    }
    const blockedUntil = Math.max(row.login_blocked_until, blockUntil(row.failed_logins))
    if (blockedUntil !== row.login_blocked_until) block.run(blockedUntil, accountID)
    return { counted: true, failures: row.failed_logins, blockedUntil }
  })

  return {
    changeCredentials: async (c) => change.immediate(c),
    rehashPassword: async (accountID, oldHash, newHash, now) => rehash.run(newHash, now, accountID, oldHash).changes === 1,
    // The hot writes of live traffic share their turn's commit (group-commit.ts).
    mergeProfile: (accountID, actorDeviceID, patch, now) => writes.run(() => merge.immediate(accountID, actorDeviceID, patch, now)),
    recordLoginFailure: (accountID, now, blockUntil) => writes.run(() => fail.immediate(accountID, now, blockUntil)),
  }
}
