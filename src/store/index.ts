// Opens the SQLite store: pragmas, lock, migrations, and one module per aggregate. The Store interface
// is what the rest of the server sees, whichever engine serves it (PostgreSQL: ./postgres/index.ts).
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import Database, { type SqliteDatabase } from './driver.ts'
import { storageRetryAfterMs } from './errors.ts'
import { acquireDatabaseLock } from './lock.ts'
import { migrations } from './migrations.ts'
import { createGroupCommit } from './group-commit.ts'
import { startCheckpointer, type Checkpointer, type CheckpointerOptions } from './checkpointer.ts'
import { walRelief } from './wal-relief.ts'
import { createSharedRead, guardWrites, type SharedRead } from './shared-read.ts'
import { createRateBucketStore, type RateBucketStore } from './rate-buckets.ts'
import type { LoginNameStore } from './login-names.ts'
import { createAccountStore, type AccountStore } from './accounts.ts'
import { createDeviceStore, sealLegacyPushTokens, type DeviceStore } from './devices.ts'
import { createSudoTokenStore, type SudoTokenStore } from './sudo-tokens.ts'
import { createOutboxStore, releaseAbandonedClaims, type OutboxQueue, type OutboxStore } from './outbox.ts'
import { loadOutboxKey } from './outbox-key.ts'
import { createVerificationStore, type VerificationStore } from './verifications.ts'
import { createTicketStore, type TicketStore } from './tickets.ts'
import type { TokenHolder } from './device-lifetime.ts'
import { createDeviceAuthorizationStore, type DeviceAuthorizationStore } from './device-authorizations.ts'
import { createCaptchaStore, type CaptchaStore } from './captcha.ts'
import { createProviderStore, type ProviderStore } from './providers.ts'

export interface StoreOptions {
  synchronous: 'normal' | 'full'
  busyTimeoutMs: number
  /** Cap on the file's size in bytes (0 or absent: none). */
  maxBytes?: number
  /** Take the one-server-per-file lock (default true); the admin CLI opens the file beside a running server. */
  lock?: boolean
  /**
   * Who checkpoints the WAL: 'inline' (default), SQLite itself inside the commit that passes 1,000 pages; 'worker',
   * a worker thread with its own connection, off the event loop (the server: checkpointer.ts). Needs the lock.
   */
  checkpoints?: 'inline' | 'worker'
  /** Where the checkpoint worker's failures are reported. */
  log?: CheckpointerOptions['log']
}

export interface Store {
  readonly rateBuckets: RateBucketStore
  /** Backoff state of names that find no account, when several processes share the store (PostgreSQL); else kept in memory. */
  readonly loginNames?: LoginNameStore
  readonly accounts: AccountStore
  readonly devices: DeviceStore
  readonly sudoTokens: SudoTokenStore
  readonly outbox: OutboxQueue
  readonly verifications: VerificationStore
  readonly tickets: TicketStore
  readonly deviceAuthorizations: DeviceAuthorizationStore
  readonly captcha: CaptchaStore
  readonly providers: ProviderStore
  /** A write failed with SQLITE_FULL: checkpoint eagerly until the WAL is back in the database file (SQLite only). */
  onDiskFull?(): void
  /** Closes the database; PostgreSQL's pool closes asynchronously (await it). */
  close(): void | Promise<void>
}

/** The embedded engine's store: its file, its synchronous outbox, its disk-full relief. */
export interface SqliteStore extends Store {
  readonly path: string
  readonly outbox: OutboxStore
  /** With checkpoints: 'worker': who has checkpointed so far (tests, diagnostics). */
  readonly checkpoints?: Checkpointer['stats']
  onDiskFull(): void
  close(): void
}

export function openStore(path: string, options: StoreOptions): SqliteStore {
  const inMemory = path === ':memory:'
  if (!inMemory) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    createPrivate(path)
  }
  const lock = inMemory || options.lock === false ? undefined : acquireDatabaseLock(path)
  let db: SqliteDatabase
  let outboxKey: Buffer
  let reads: SharedRead
  try {
    outboxKey = loadOutboxKey(path)
    db = new Database(path, { timeout: options.busyTimeoutMs })
    // profile:auth's token look-ups of one turn share one read transaction, which every write ends first
    // (shared-read.ts); wired before anything else is prepared, so every write path is covered.
    reads = createSharedRead(db)
    guardWrites(db, reads)
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    db.pragma('foreign_keys = ON')
    // SQLite's page cache (default 2 MiB) made every cold account read a handful of pread calls: 64 MiB,
    // allocated as pages are used, holds a 100,000-account file with its indexes (55 MB). Random look-ups
    // by user ID went from ~35,000 to ~49,000 per CPU-second on the bench fixture.
    db.pragma('cache_size = -65536')
    if (options.maxBytes) {
      // Past the cap SQLite answers SQLITE_FULL, exactly as on a full disk: a quota, and a way to test that path.
      const pageSize = db.pragma('page_size', { simple: true }) as number
      db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`)
    }
    migrate(db)
    sealLegacyPushTokens(db, outboxKey)
    // The file's lock holder is its only server: claims left by a killed previous run are void, sent at once.
    if (lock) releaseAbandonedClaims(db)
  } catch (error) {
    lock?.release()
    throw error
  }
  const outbox = createOutboxStore(db, outboxKey)
  // Live traffic's hot writes (profile updates, failed logins, token presentation, last-seen batches) share
  // one commit per event-loop turn; replies still wait for it (group-commit.ts).
  // Before walRelief, which goes back to the checkpointer's setting after a full disk.
  const checkpointer = options.checkpoints === 'worker' && lock ? startCheckpointer(db, path, { synchronous: options.synchronous, log: options.log }) : undefined
  const writes = createGroupCommit(db)
  const relief = walRelief(db, storageRetryAfterMs, checkpointer ? () => checkpointer.autocheckpoint : undefined)
  const accounts = createAccountStore(db, writes, reads)
  const devices = createDeviceStore(db, outboxKey, writes, reads)
  // profile:auth's read: the device read, then the account from the read cache (a write drops the rows it
  // changed, so status stays exact): on a hit ~3 µs, where joining the account into the device statement
  // costs ~9 µs on a 100,000-account file (measured in-process, 64 MiB page cache). PostgreSQL joins (one
  // round trip). Both reads are synchronous: composed from their synchronous forms into one object, where two
  // awaited async calls and two spread copies made the awaited read 5.5 µs of CPU, now 2.9 (in-process, 64
  // reads a turn, old and new alternated); byTokenWithAccountNow hands it over without a promise at all.
  const byTokenWithAccountNow = (tokenHash: Buffer): TokenHolder | undefined => {
    const row = devices.tokenSlotRow(tokenHash)
    const account = row && accounts.byIDNow(row[1])
    if (!account) return undefined
    const [deviceID, accountID, createdAt, lastSeenAt, retiredAt, current] = row!
    const { userID, status } = account
    return current === 1
      ? { deviceID, accountID, createdAt, lastSeenAt, slot: 'current', userID, status }
      : { deviceID, accountID, createdAt, lastSeenAt, slot: 'previous', retiredAt: retiredAt!, userID, status }
  }
  return {
    path,
    checkpoints: checkpointer?.stats,
    rateBuckets: createRateBucketStore(db),
    accounts,
    devices: {
      ...devices,
      byTokenWithAccountNow,
      async byTokenWithAccount(tokenHash) {
        return byTokenWithAccountNow(tokenHash)
      },
    },
    sudoTokens: createSudoTokenStore(db),
    outbox,
    verifications: createVerificationStore(db, outbox, outboxKey),
    tickets: createTicketStore(db),
    deviceAuthorizations: createDeviceAuthorizationStore(db, outboxKey),
    captcha: createCaptchaStore(db, outboxKey),
    providers: createProviderStore(db, outboxKey, reads),
    onDiskFull: relief.onDiskFull,
    close() {
      relief.stop()
      // The worker's connection first: the serving one, closing last, checkpoints what is left and removes the WAL.
      checkpointer?.stop()
      if (db.open) {
        reads.end()
        writes.flush()
        // optimize writes statistics, which fails on a full disk; the file must be closed all the same.
        try {
          db.pragma('optimize')
        } catch {}
        db.close()
      }
      lock?.release()
    },
  }
}

/**
 * Creates the file owner-only (0600) if it does not exist yet, whatever the umask: SQLite gives the
 * -wal and -shm files the database file's permissions, so they follow (audit: created 0644).
 * An existing file keeps the mode its owner gave it.
 */
export function createPrivate(path: string): void {
  closeSync(openSync(path, 'a', 0o600))
}

/** Runs each pending migration in its own transaction, so a crash leaves a numbered, consistent state. */
export function migrate(db: SqliteDatabase): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > migrations.length) {
    throw new Error(`database schema version ${current} is newer than this server (${migrations.length})`)
  }
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!)
      db.pragma(`user_version = ${version + 1}`)
    }).immediate()
  }
}
