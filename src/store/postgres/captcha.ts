// Spent captcha solutions on PostgreSQL (contract in ../captcha.ts).
import { hkdfSync } from 'node:crypto'
import type pg from 'pg'
import type { CaptchaStore } from '../captcha.ts'
import { run } from './db.ts'

export function createCaptchaStore(pool: pg.Pool, outboxKey: Buffer): CaptchaStore {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', outboxKey, '', info, 32)).toString('hex')
  return {
    secrets: { challenge: derive('hafnium captcha challenges'), key: derive('hafnium captcha keys') },
    // The primary key decides: of two concurrent uses of one solution (on any nodes) exactly one inserts.
    spend: async (hash, expiresAt) =>
      (await run(pool, 'INSERT INTO captcha_spent (signature_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [hash, expiresAt])).rowCount === 1,
    prune: async (now) => (await run(pool, 'DELETE FROM captcha_spent WHERE expires_at <= $1', [now])).rowCount ?? 0,
  }
}
