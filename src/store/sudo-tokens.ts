// Sudo tokens: short-lived proof of a fresh re-authentication, each usable once per purpose.
import type { Database } from 'better-sqlite3'

export type SudoPurpose = 'set_password' | 'revoke_device' | 'deactivate' | 'bind_thirdpid' | 'unbind_thirdpid'

export interface SudoTokenStore {
  issue(tokenHash: Buffer, accountID: string, deviceID: string, expiresAt: number): Promise<void>
  /** Atomically marks the token used for `purpose`; false if unknown, expired, another account's, or already used for it. */
  consume(tokenHash: Buffer, accountID: string, purpose: SudoPurpose, now: number): Promise<boolean>
  /** Forgets expired tokens. */
  prune(now: number): Promise<number>
}

export function createSudoTokenStore(db: Database): SudoTokenStore {
  const insert = db.prepare('INSERT INTO sudo_tokens (token_hash, account_id, device_id, expires_at) VALUES (?, ?, ?, ?)')
  // One UPDATE checks and marks, so two concurrent uses cannot both succeed.
  const use = db.prepare(
    `UPDATE sudo_tokens SET used_for = used_for || ' ' || @purpose || ' '
     WHERE token_hash = @hash AND account_id = @accountID AND expires_at > @now AND instr(used_for, ' ' || @purpose || ' ') = 0`,
  )
  const deleteExpired = db.prepare('DELETE FROM sudo_tokens WHERE expires_at <= ?')
  return {
    async issue(tokenHash, accountID, deviceID, expiresAt) {
      insert.run(tokenHash, accountID, deviceID, expiresAt)
    },
    consume: async (hash, accountID, purpose, now) => use.run({ hash, accountID, purpose, now }).changes === 1,
    prune: async (now) => deleteExpired.run(now).changes,
  }
}
