// The store after SQLITE_FULL: it still closes on a full file, and it checkpoints after every commit until
// a truncating checkpoint succeeds (the real-disk wedge this prevents: test/hardening/disk-full.heavy.ts).
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mock } from 'node:test'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { storageRetryAfterMs } from '../../src/store/errors.ts'
import { openStore, type Store } from '../../src/store/index.ts'

const options = { synchronous: 'normal', busyTimeoutMs: 0 } as const
let next = 0

/** One account with ~8 KiB of profile: a couple of overflow pages per commit. */
function createAccount(store: Store): Promise<unknown> {
  const n = next++
  return store.accounts.create({
    id: `acc${n}`,
    username: `user${n}`,
    userID: `@user${n}@localhost`,
    passwordHash: null,
    status: 'active',
    profile: { misc: { note: 'x'.repeat(8000) } },
    thirdPIDs: [],
    now: 0,
  })
}

const size = (path: string) => statSync(path).size

const test = suite<{ dir: string }>('store on a full disk')
test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-store-full-'))
})
test.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }))

test('close() on a full database still closes the file and releases its lock', async ({ dir }) => {
  const path = join(dir, 'quota.db')
  const store = openStore(path, { ...options, maxBytes: 256 * 1024 })
  let full: unknown
  for (let i = 0; i < 200 && !full; i++) {
    await createAccount(store).catch((error: unknown) => (full = error))
    await store.accounts.usernameTaken(`user${i}`) // a query pattern PRAGMA optimize wants statistics for
  }
  assert.is((full as { code?: string } | undefined)?.code, 'SQLITE_FULL')
  // PRAGMA optimize writes sqlite_stat1 and answers SQLITE_FULL here; close() must go on regardless.
  store.close()
  openStore(path, options).close()
})

test('after onDiskFull every commit is checkpointed, until a TRUNCATE checkpoint succeeds', async ({ dir }) => {
  const path = join(dir, 'wal.db')
  const store = openStore(path, options)
  mock.timers.enable({ apis: ['setInterval'] })
  try {
    for (let i = 0; i < 3; i++) await createAccount(store)
    const before = size(path)
    // Default: commits stay in the WAL until it reaches 1,000 pages.
    await createAccount(store)
    assert.is(size(path), before)

    store.onDiskFull()
    await createAccount(store)
    assert.ok(size(path) > before, 'the commit went on into the database file at once')

    mock.timers.tick(storageRetryAfterMs)
    assert.is(size(`${path}-wal`), 0, 'the WAL was truncated, its space handed back')

    // Back to SQLite's default: the next commit stays in the WAL.
    const after = size(path)
    await createAccount(store)
    assert.is(size(path), after)
    assert.ok(size(`${path}-wal`) > 0)
  } finally {
    mock.timers.reset()
    store.close()
  }
})

test.run()
