// Opens the PostgreSQL store: a connection pool, migrations under an advisory lock, one module per
// aggregate. Several nodes share one database; nothing here caches a row another node may change.
import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Store } from '../index.ts'
import { loadOutboxKey } from '../outbox-key.ts'
import { createPool, run, warm } from './db.ts'
import { migratePostgres } from './migrate.ts'
import { createAccountStore } from './accounts.ts'
import { createDeviceStore } from './devices.ts'
import { createSudoTokenStore } from './sudo-tokens.ts'
import { createOutboxStore } from './outbox.ts'
import { createVerificationStore } from './verifications.ts'
import { createTicketStore } from './tickets.ts'
import { createDeviceAuthorizationStore } from './device-authorizations.ts'
import { createCaptchaStore } from './captcha.ts'
import { createProviderStore } from './providers.ts'
import { createRateBucketStore } from './rate-buckets.ts'
import { createLoginNameStore } from './login-names.ts'

export interface PostgresStoreOptions {
  /** Connections this process keeps at most. */
  poolSize: number
  /** database.statementTimeoutMs (db.ts createPool). */
  statementTimeoutMs?: number
  /**
   * Where the outbox key file is (HAFNIUM_OUTBOX_KEY wins): the key seals queued codes and push tokens
   * and keys code hashes, so it is kept out of the database. Every node must have the same key.
   */
  keyPath: string
}

export async function openPostgresStore(url: string, options: PostgresStoreOptions): Promise<Store> {
  const pool = createPool(url, options.poolSize, options.statementTimeoutMs)
  try {
    await migratePostgres(url)
    await warm(pool, options.poolSize)
    // As for a SQLite file: the key file's directory is created owner-only if missing (a fresh `data/`).
    if (!process.env.HAFNIUM_OUTBOX_KEY) mkdirSync(dirname(options.keyPath), { recursive: true, mode: 0o700 })
    const outboxKey = loadOutboxKey(options.keyPath)
    await checkKey(pool, outboxKey)
    const rateBuckets = await createRateBucketStore(pool)
    let closed: Promise<void> | undefined
    return {
      rateBuckets,
      loginNames: createLoginNameStore(pool),
      accounts: createAccountStore(pool),
      devices: createDeviceStore(pool, outboxKey),
      sudoTokens: createSudoTokenStore(pool),
      outbox: createOutboxStore(pool, outboxKey),
      verifications: createVerificationStore(pool, outboxKey),
      tickets: createTicketStore(pool),
      deviceAuthorizations: createDeviceAuthorizationStore(pool, outboxKey),
      captcha: createCaptchaStore(pool, outboxKey),
      providers: createProviderStore(pool, outboxKey),
      close() {
        closed ??= rateBuckets.settled().then(() => pool.end())
        return closed
      },
    }
  } catch (error) {
    await pool.end().catch(() => {})
    throw error
  }
}

/**
 * The first node records a fingerprint of its outbox key; a node started with another key refuses to
 * start, since what it sealed the others could not open (codes given up as undeliverable, push tokens lost).
 */
async function checkKey(pool: Awaited<ReturnType<typeof createPool>>, key: Buffer): Promise<void> {
  const fingerprint = createHash('sha256').update('hafnium outbox key fingerprint\u0000').update(key).digest('hex')
  await run(pool, "INSERT INTO hafnium_meta (name, value) VALUES ('outbox_key_fingerprint', $1) ON CONFLICT DO NOTHING", [fingerprint])
  const stored = (await run<{ value: string }>(pool, "SELECT value FROM hafnium_meta WHERE name = 'outbox_key_fingerprint'")).rows[0]?.value
  if (stored !== fingerprint) {
    throw new Error(
      'this node\'s outbox key differs from the one the database was first used with: give every node the same key (HAFNIUM_OUTBOX_KEY, or the same key file beside database.path)',
    )
  }
}
