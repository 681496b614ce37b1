// Sudo tokens: short-lived proof of a fresh re-authentication, bound to the device that asked for it and
// usable once per purpose. They die with their device (foreign key) and with every credential change.
import type { Database } from 'better-sqlite3'
import { DeviceGone, LinkChanged } from './errors.ts'

export type SudoPurpose = 'set_password' | 'revoke_device' | 'deactivate' | 'bind_thirdpid' | 'unbind_thirdpid' | 'bind_provider' | 'unbind_provider'

/** The session a token belongs to. */
export interface SudoHolder {
  accountID: string
  deviceID: string
}

/** A provider identity (providerID, sub). */
export interface SudoLink {
  providerID: string
  sub: string
}

export interface SudoTokenStore {
  /**
   * Stores the token for the device; DeviceGone when the device was revoked meanwhile. With `link` (a
   * re-authentication by provider), in the same transaction: LinkChanged, checked first, unless that
   * identity is still linked to the holder's account (it may have been unbound since it was read).
   */
  issue(tokenHash: Buffer, holder: SudoHolder, expiresAt: number, link?: SudoLink): Promise<void>
  /**
   * Atomically marks the token used for `purpose`; false if unknown, expired, another device's (its own
   * device revoked included: the token went with it), or already used for it.
   */
  consume(tokenHash: Buffer, holder: SudoHolder, purpose: SudoPurpose, now: number): Promise<boolean>
  /** Forgets expired tokens. */
  prune(now: number): Promise<number>
}

export function createSudoTokenStore(db: Database): SudoTokenStore {
  // The device must still belong to the account: a foreign key alone would accept another account's device.
  const insert = db.prepare(
    `INSERT INTO sudo_tokens (token_hash, account_id, device_id, expires_at)
     SELECT @hash, @accountID, @deviceID, @expiresAt WHERE EXISTS (SELECT 1 FROM devices WHERE id = @deviceID AND account_id = @accountID)`,
  )
  // One UPDATE checks and marks, so two concurrent uses cannot both succeed.
  const use = db.prepare(
    `UPDATE sudo_tokens SET used_for = used_for || ' ' || @purpose || ' '
     WHERE token_hash = @hash AND account_id = @accountID AND device_id = @deviceID AND expires_at > @now
       AND instr(used_for, ' ' || @purpose || ' ') = 0`,
  )
  const deleteExpired = db.prepare('DELETE FROM sudo_tokens WHERE expires_at <= ?')
  const linkedTo = db.prepare<[string, string], { account_id: string }>('SELECT account_id FROM provider_links WHERE provider_id = ? AND sub = ?')
  const issue = db.transaction((hash: Buffer, { accountID, deviceID }: SudoHolder, expiresAt: number, link?: SudoLink) => {
    if (link && linkedTo.get(link.providerID, link.sub)?.account_id !== accountID) throw new LinkChanged()
    if (insert.run({ hash, accountID, deviceID, expiresAt }).changes !== 1) throw new DeviceGone()
  })
  return {
    issue: async (hash, holder, expiresAt, link) => issue.immediate(hash, holder, expiresAt, link),
    consume: async (hash, { accountID, deviceID }, purpose, now) => use.run({ hash, accountID, deviceID, purpose, now }).changes === 1,
    prune: async (now) => deleteExpired.run(now).changes,
  }
}
