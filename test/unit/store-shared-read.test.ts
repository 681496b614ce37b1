// The shared read transaction (src/store/shared-read.ts): the token look-ups of one event-loop turn share
// one read transaction, which ends before any write of this connection and at the end of the turn: an
// acknowledged write is committed and seen by every later read, another process's write from the next turn.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import Database, { type SqliteDatabase } from '../../src/store/driver.ts'
import { createGroupCommit } from '../../src/store/group-commit.ts'
import { openStore, type SqliteStore } from '../../src/store/index.ts'
import { createSharedRead, guardWrites, type SharedRead } from '../../src/store/shared-read.ts'
import { within } from '../support/within.ts'

/** The next turn of the event loop: past the check phase that ends the turn's shared read. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

const raw = suite<{ dir: string; path: string; db: SqliteDatabase; other: SqliteDatabase; shared: SharedRead }>('store: shared read transaction')
raw.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-shared-read-'))
  ctx.path = join(ctx.dir, 'sr.db')
  ctx.db = new Database(ctx.path)
  ctx.shared = createSharedRead(ctx.db)
  guardWrites(ctx.db, ctx.shared)
  ctx.db.pragma('journal_mode = WAL')
  ctx.db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT; INSERT INTO notes (body) VALUES ('first')")
  // Another process (the admin CLI): sees only what is committed.
  ctx.other = new Database(ctx.path)
})
raw.after.each((ctx) => {
  ctx.other.close()
  if (ctx.db.open) ctx.db.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

const countOf = (db: SqliteDatabase) => db.prepare('SELECT count(*) FROM notes').pluck().get() as number

raw('a read transaction that cannot end now (the handle busy) ends on a later turn, and a write wanting it ended fails', async ({ db, shared }) => {
  shared.run(() => countOf(db))
  // An iterator in progress keeps better-sqlite3's handle busy: COMMIT and ROLLBACK both throw.
  const rows = db.prepare('SELECT body FROM notes').iterate()
  rows.next()
  assert.throws(() => db.prepare("INSERT INTO notes (body) VALUES ('second')").run(), 'a write ran while the read transaction could not end')
  await nextTurn()
  assert.ok(db.inTransaction, 'ended while the iterator was still open?')
  rows.return!()
  await within(
    (async () => {
      while (db.inTransaction) await nextTurn()
    })(),
    2000,
    'the read transaction to end on a later turn, with no write to end it',
  )
  db.prepare("INSERT INTO notes (body) VALUES ('second')").run()
  assert.is(countOf(db), 2)
})

raw('the reads of one turn share one read transaction, over by the next turn', async ({ db, shared }) => {
  assert.equal([shared.run(() => db.inTransaction), shared.run(() => countOf(db)), db.inTransaction], [true, 1, true])
  await nextTurn()
  assert.is(db.inTransaction, false, 'the read transaction outlived its turn')
})

raw('every kind of write of this connection ends it first: the write is committed when it returns, and read back at once', async ({ db, other, shared }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  const ways: [string, () => unknown][] = [
    ['a statement', () => insert.run('statement')],
    ['a transaction function', () => db.transaction(() => insert.run('transaction')).immediate()],
    ['exec', () => db.exec("INSERT INTO notes (body) VALUES ('exec')")],
  ]
  for (const [how, write] of ways) {
    const before = shared.run(() => countOf(db))
    write()
    assert.is(db.inTransaction, false, `${how} left a transaction open`)
    assert.is(countOf(other), before + 1, `${how}: not committed when it returned`)
    assert.is(shared.run(() => countOf(db)), before + 1, `${how}: not read back`)
  }
  // Group commit's BEGIN IMMEDIATE, queued while the turn's read is open: acknowledged only once committed.
  const before = shared.run(() => countOf(db))
  await within(writes.run(() => insert.run('group commit')), 5000, 'the group commit')
  assert.is(countOf(other), before + 1)
  assert.is(shared.run(() => countOf(db)), before + 1)
})

raw("another process's commit is seen from the next turn on", async ({ db, other, shared }) => {
  assert.is(shared.run(() => countOf(db)), 1)
  other.prepare("INSERT INTO notes (body) VALUES ('admin')").run()
  // Within the turn the snapshot may be the turn's; never older.
  assert.ok([1, 2].includes(shared.run(() => countOf(db))))
  await nextTurn()
  assert.is(shared.run(() => countOf(db)), 2)
})

raw('a failing read leaves the transaction usable and it still ends with its turn', async ({ db, shared }) => {
  assert.throws(() => shared.run(() => db.prepare('SELECT nope FROM notes').get()), /no such column/)
  assert.is(shared.run(() => countOf(db)), 1)
  await nextTurn()
  assert.is(db.inTransaction, false)
})

const store = suite<{ dir: string; path: string; store: SqliteStore; deviceID: string }>('store: token look-ups in a shared read')
const token = Buffer.alloc(32, 7)
store.before.each(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-shared-read-store-'))
  ctx.path = join(ctx.dir, 'store.db')
  ctx.store = openStore(ctx.path, { synchronous: 'normal', busyTimeoutMs: 1000 })
  await ctx.store.accounts.create({
    id: 'acc-juliet', username: 'juliet', userID: '@juliet@localhost', passwordHash: null, status: 'active', profile: {}, thirdPIDs: [], now: 0,
  })
  ctx.deviceID = (await ctx.store.devices.create({ accountID: 'acc-juliet', tokenHash: token, name: 'phone', pushToken: null, ip: '10.0.0.1', now: 0 })).id
})
store.after.each((ctx) => {
  ctx.store.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

store('a revocation in the turn of an earlier look-up: committed at once, and the next look-up (an auth after it) finds nothing', async (ctx) => {
  assert.is((await ctx.store.devices.byTokenWithAccount(token))?.deviceID, ctx.deviceID)
  assert.is(await ctx.store.devices.revoke('acc-juliet', ctx.deviceID), true)
  const admin = new Database(ctx.path)
  try {
    assert.is(admin.prepare('SELECT count(*) FROM devices').pluck().get(), 0, 'the revocation was held in the read transaction')
  } finally {
    admin.close()
  }
  assert.is(await ctx.store.devices.byTokenWithAccount(token), undefined)
})

store("the admin CLI's revocation between two auths is seen by the look-up of the next turn", async (ctx) => {
  const admin = new Database(ctx.path)
  try {
    assert.is((await ctx.store.devices.byTokenWithAccount(token))?.deviceID, ctx.deviceID)
    admin.prepare('DELETE FROM devices WHERE id = ?').run(ctx.deviceID)
    await nextTurn()
    assert.is(await ctx.store.devices.byTokenWithAccount(token), undefined)
  } finally {
    admin.close()
  }
})

store('a rotation acknowledged in the turn of a look-up: the new token is current and the old one previous', async (ctx) => {
  assert.is((await ctx.store.devices.byTokenWithAccount(token))?.slot, 'current')
  const next = Buffer.alloc(32, 8)
  assert.is(await within(ctx.store.devices.present(ctx.deviceID, token, next, 50, 60_000), 5000, 'the rotation'), 'ok')
  const [current, previous, unknown] = await Promise.all([next, token, Buffer.alloc(32, 9)].map((hash) => ctx.store.devices.byTokenWithAccount(hash)))
  assert.equal(current, { deviceID: ctx.deviceID, accountID: 'acc-juliet', createdAt: 0, lastSeenAt: 0, slot: 'current', userID: '@juliet@localhost', status: 'active' })
  assert.equal(previous, { deviceID: ctx.deviceID, accountID: 'acc-juliet', createdAt: 0, lastSeenAt: 0, slot: 'previous', retiredAt: 50, userID: '@juliet@localhost', status: 'active' })
  assert.is(unknown, undefined)
})

raw.run()
store.run()
