// Spent captcha solutions (contract §15: a solution works once) and the HMAC secrets that sign challenges.
import { hkdfSync } from 'node:crypto'
import type { Database } from 'better-sqlite3'

export interface CaptchaStore {
  /** HMAC secrets for challenges and their derived keys: derived from the outbox key, so they survive a restart. */
  readonly secrets: { readonly challenge: string; readonly key: string }
  /** Records a solution's challenge signature as used; false if it was already (a replay). */
  spend(signatureHash: Buffer, expiresAt: number): Promise<boolean>
  /** Forgets solutions whose challenge has expired (they are refused as expired anyway). */
  prune(now: number): Promise<number>
}

export function createCaptchaStore(db: Database, outboxKey: Buffer): CaptchaStore {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', outboxKey, '', info, 32)).toString('hex')
  const insert = db.prepare('INSERT INTO captcha_spent (signature_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING')
  const deleteExpired = db.prepare('DELETE FROM captcha_spent WHERE expires_at <= ?')
  return {
    secrets: { challenge: derive('hafnium captcha challenges'), key: derive('hafnium captcha keys') },
    // The primary key decides: of two concurrent uses of one solution exactly one inserts.
    spend: async (hash, expiresAt) => insert.run(hash, expiresAt).changes === 1,
    prune: async (now) => deleteExpired.run(now).changes,
  }
}
