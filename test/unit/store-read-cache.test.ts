// The account read cache (src/store/read-cache.ts): one test per staleness rule, plus its size bound.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import Database from '../../src/store/driver.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import { createReadCache } from '../../src/store/read-cache.ts'
import { createSharedRead, guardWrites, writeCountOf } from '../../src/store/shared-read.ts'
import { itemsCache } from '../support/items-cache.ts'

/** Polls `check` every 20 ms until it holds; fails after `ms` saying what it waited for. */
async function until(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + ms
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Reads until the value is cached (a row enters on its second read: admission.ts) and returns it: a
 * staleness test on a row that was never cached could not fail.
 */
async function cached<T>(read: () => Promise<T>): Promise<T> {
  await read()
  const value = await read()
  assert.ok((await read()) === value, 'the row was not cached by its second read')
  return value
}

const test = suite<{ dir: string; path: string; store: Store }>('store: account read cache')
test.before.each(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-read-cache-'))
  ctx.path = join(ctx.dir, 'cache.db')
  ctx.store = openStore(ctx.path, { synchronous: 'normal', busyTimeoutMs: 1000 })
  for (const name of ['juliet', 'romeo']) {
    await ctx.store.accounts.create({
      id: `acc-${name}`, username: name, userID: `@${name}@localhost`, passwordHash: null, status: 'active', profile: { name }, thirdPIDs: [], now: 0,
    })
  }
})
test.after.each((ctx) => {
  ctx.store.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

test('a write to an account is seen by the next read of it, whichever key it is read by', async ({ store }) => {
  const device = await store.devices.create({ accountID: 'acc-juliet', tokenHash: Buffer.alloc(32, 1), name: 'phone', pushToken: null, ip: '10.0.0.1', now: 0 })
  assert.is((await cached(() => store.accounts.byID('acc-juliet')))!.profile.name, 'juliet')
  assert.is((await cached(() => store.accounts.byUserID('@juliet@localhost')))!.profile.name, 'juliet')
  await store.accounts.mergeProfile('acc-juliet', device.id, { name: 'Juliet C.' }, 1)
  assert.is((await store.accounts.byID('acc-juliet'))!.profile.name, 'Juliet C.')
  assert.is((await store.accounts.byUserID('@juliet@localhost'))!.profile.name, 'Juliet C.')
  await cached(() => store.accounts.byUserID('@juliet@localhost'))
  await store.accounts.setStatus('acc-juliet', 'disabled', 2)
  assert.is((await store.accounts.byUserID('@juliet@localhost'))!.status, 'disabled')
})

test("a change to an account's 3PIDs (another table) is seen by the next read of the account", async ({ store, path }) => {
  const raw = new Database(path)
  raw.prepare("INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES ('email', 'r@example.org', 'acc-romeo', 0, 0)").run()
  raw.close()
  await until(1500, "romeo's unverified 3PID to be read", async () => (await store.accounts.byID('acc-romeo'))!.thirdPIDs.length === 1)
  assert.is((await cached(() => store.accounts.byID('acc-romeo')))!.thirdPIDs.length, 1)
  // Registering r@example.org verified drops romeo's unverified claim: this connection changes romeo's 3PIDs only.
  await store.accounts.create({
    id: 'acc-mallory', username: 'mallory', userID: '@mallory@localhost', passwordHash: null, status: 'active', profile: {},
    thirdPIDs: [{ type: 'email', value: 'r@example.org', verified: true }], now: 3,
  })
  assert.equal((await store.accounts.byID('acc-romeo'))!.thirdPIDs, [])
})

test('a write to one account leaves the other accounts cached (the same object comes back)', async ({ store }) => {
  const romeo = await cached(() => store.accounts.byID('acc-romeo'))
  const device = await store.devices.create({ accountID: 'acc-juliet', tokenHash: Buffer.alloc(32, 2), name: 'phone', pushToken: null, ip: '10.0.0.1', now: 0 })
  await store.accounts.mergeProfile('acc-juliet', device.id, { name: 'Juliet C.' }, 1)
  await store.devices.touchMany([{ deviceID: device.id, at: 5, ip: '10.0.0.2' }])
  assert.ok((await store.accounts.byID('acc-romeo')) === romeo, 'romeo was read again after writes that did not touch him')
})

test('another process\'s write (the admin CLI opens the file beside the server) is seen within 1 s', async ({ store, path }) => {
  assert.is((await cached(() => store.accounts.byID('acc-romeo')))!.status, 'active')
  const admin = openStore(path, { synchronous: 'normal', busyTimeoutMs: 1000, lock: false })
  // From before the write: every read that starts 1 s after it must see it. What is timed is when each
  // read starts, not when the polling below gets round to the next one: timed to the first fresh read, the
  // 1,100 ms bound was 972-1006 ms used with two CPU hogs beside it (a late poll or a GC pause took the rest).
  const wroteAt = performance.now()
  try {
    await admin.accounts.setStatus('acc-romeo', 'disabled', 9)
  } finally {
    admin.close()
  }
  let staleAt = 0
  await until(5000, "the admin's status change to reach the server's cache", async () => {
    const readAt = performance.now() - wroteAt
    const seen = (await store.accounts.byID('acc-romeo'))!.status === 'disabled'
    if (!seen) staleAt = readAt
    return seen
  })
  assert.ok(staleAt < 1000, `a read started ${Math.round(staleAt)} ms after the write still saw the old status (at most 1 s)`)
})

test('a rolled-back write leaves the cache as it was', async ({ store }) => {
  const romeo = await cached(() => store.accounts.byID('acc-romeo'))
  // A registration that fails (the username is taken) ran its INSERT into accounts and rolled it back.
  await store.accounts
    .create({ id: 'acc-dup', username: 'romeo', userID: '@romeo2@localhost', passwordHash: null, status: 'active', profile: {}, thirdPIDs: [], now: 4 })
    .then(() => assert.unreachable('a taken username was registered'), () => {})
  assert.ok((await store.accounts.byID('acc-romeo')) === romeo)
})

test('the cache holds at most maxBytes, dropping the oldest entries first', () => {
  const { db, cache, counts, read } = itemsCache(100, 1000)
  // Twice each: a row enters on its second read. The doorkeeper then remembers all 100 (each is admitted
  // at its next miss), so from here on the eviction order alone decides what a read finds.
  for (let i = 0; i < 100; i++) read(`item${i}`), read(`item${i}`)
  assert.equal(cache.stats(), { entries: 10, bytes: 1000 })
  counts.loads = 0
  read('item99') // among the newest: still there
  read('item0') // the oldest: dropped long ago
  assert.is(counts.loads, 1)
  // item0 came back as the newest; a write drops item95 (a hole mid-way); then 10 more reads: the
  // oldest still go first (the eviction walk resumes where it stopped and sees re-added entries last).
  db.prepare("UPDATE items SET body = ? WHERE id = 'item95'").run('y'.repeat(100))
  for (let i = 40; i < 49; i++) read(`item${i}`)
  assert.equal(cache.stats(), { entries: 10, bytes: 1000 })
  counts.loads = 0
  // The write made room for item40; item41-48 then pushed out item91-94 and item96-99, in that order.
  for (const kept of ['item0', 'item40', 'item44', 'item48']) read(kept)
  assert.is(counts.loads, 0, 'item0 and item40-48 are cached')
  read('item99')
  assert.is(counts.loads, 1, 'item99, once among the newest, went before the re-added item0')
  db.close()
})

test('a row cached under two keys: evicting one leaves the other dropped by the next write to the row', () => {
  const { db, select, cache } = itemsCache(4, 300)
  let loads = 0
  const read = (key: string) => cache.get(key, () => (loads++, select.get(key.slice(2))))
  // Each key twice: it enters on its second read (and is admitted on its next miss after that).
  for (const key of ['a:item0', 'b:item0', 'a:item1', 'a:item2']) read(key), read(key) // full at a:item2: a:item0 goes, b:item0 stays
  assert.equal(cache.stats(), { entries: 3, bytes: 300 })
  loads = 0
  read('b:item0')
  assert.is(loads, 0, 'the row\'s other key is still cached')
  db.prepare("UPDATE items SET body = 'y' WHERE id = 'item0'").run()
  assert.is(read('b:item0')!.body, 'y', 'the write dropped the remaining key')
  assert.is(loads, 1)
  // Both keys again, then a write drops both.
  read('a:item0')
  db.prepare("UPDATE items SET body = 'z' WHERE id = 'item0'").run()
  assert.is(read('a:item0')!.body, 'z')
  assert.is(read('b:item0')!.body, 'z')
  db.close()
})

test("a miss's load runs in the turn's shared read transaction, which ends at the end of the turn", async ({ dir }) => {
  const db = new Database(join(dir, 'shared.db'))
  db.pragma('journal_mode = WAL')
  db.exec("CREATE TABLE items (id TEXT PRIMARY KEY); INSERT INTO items VALUES ('a'), ('b')")
  const select = db.prepare<[string], { id: string }>('SELECT id FROM items WHERE id = ?')
  const cache = createReadCache<{ id: string }>(db, {
    sources: [{ table: 'items', rowKey: 'ROW.id' }],
    rowKeyOf: (v) => v.id,
    sizeOf: () => 1,
    maxBytes: 1000,
    foreignCheckMs: 1000,
    reads: createSharedRead(db),
  })
  const inTransaction: boolean[] = []
  for (const id of ['a', 'b']) cache.get(id, () => (inTransaction.push(db.inTransaction), select.get(id)))
  assert.equal(inTransaction, [true, true])
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(db.inTransaction, false, 'the read transaction outlived its turn')
  db.close()
})

test('on a guarded handle, a write by any of its paths is seen by the next read, and reads between writes skip the change check', () => {
  const db = new Database(':memory:')
  guardWrites(db, createSharedRead(db))
  db.exec("CREATE TABLE items (id TEXT PRIMARY KEY, body TEXT NOT NULL); INSERT INTO items VALUES ('a', 'a0'), ('b', 'b0')")
  const select = db.prepare<[string], { id: string; body: string }>('SELECT id, body FROM items WHERE id = ?')
  // Counts the cache's change checks (its SELECT total_changes()).
  let changeChecks = 0
  const prepare = db.prepare.bind(db)
  db.prepare = ((source: string) => {
    const statement = prepare(source)
    if (source === 'SELECT total_changes()') {
      const get = statement.get.bind(statement)
      statement.get = ((...args: never[]) => (changeChecks++, get(...args))) as typeof statement.get
    }
    return statement
  }) as typeof db.prepare
  const cache = createReadCache<{ id: string; body: string }>(db, {
    sources: [{ table: 'items', rowKey: 'ROW.id' }],
    rowKeyOf: (v) => v.id,
    sizeOf: () => 1,
    maxBytes: 1000,
    foreignCheckMs: 60_000,
  })
  const read = (id: string) => cache.get(id, () => select.get(id))!.body
  // Both cached (a row enters on its second read) before the writes below.
  assert.is(read('a'), 'a0')
  assert.is(read('b'), 'b0')
  const count = writeCountOf(db)!
  const before = count.writes
  assert.is(read('a'), 'a0')
  assert.is(read('b'), 'b0')
  assert.is(count.writes, before, 'reads with nothing written moved the write count (the change check wrote)')
  const checks = changeChecks
  assert.is(read('a'), 'a0')
  assert.is(changeChecks, checks, 'a read with nothing written asked total_changes()')
  const update = db.prepare('UPDATE items SET body = ? WHERE id = ?')
  update.run('a1', 'a')
  assert.is(read('a'), 'a1', 'a prepared statement')
  db.exec("UPDATE items SET body = 'a2' WHERE id = 'a'")
  assert.is(read('a'), 'a2', 'exec')
  db.transaction(() => update.run('b1', 'b'))()
  assert.is(read('b'), 'b1', 'a transaction function')
  db.transaction(() => {
    assert.is(read('a'), 'a2')
    update.run('a3', 'a')
    assert.is(read('a'), 'a3', 'a write inside a transaction, read before its end')
  }).immediate()
  db.prepare("UPDATE items SET body = 'b2' WHERE id = 'b' RETURNING id").get()
  assert.is(read('b'), 'b2', 'a writing statement run with get()')
  assert.is(writeCountOf(new Database(':memory:')), undefined)
  db.close()
})

test("provider links (own profile:get lists them) are cached by the same rules: this connection's writes and another process's", async ({ store, path }) => {
  assert.equal(await store.providers.links('acc-juliet'), [])
  await store.providers.links('acc-juliet') // cached from here
  // Linked and unlinked by this connection: seen by the very next read.
  const raw = new Database(path)
  const link = (account: string, provider: string, sub: string) =>
    raw.prepare('INSERT INTO provider_links (provider_id, sub, account_id, email, created_at) VALUES (?, ?, ?, NULL, 0)').run(provider, sub, account)
  assert.is(await store.providers.unbind('acc-juliet', 'op'), false)
  // Another process (the admin CLI's connection): seen within 1 s.
  link('acc-juliet', 'op', 'j-1')
  await until(1500, "the foreign link to reach the server's cache", async () => (await store.providers.links('acc-juliet')).length === 1)
  link('acc-juliet', 'op2', 'j-2')
  await until(1500, 'the second foreign link', async () => (await store.providers.links('acc-juliet')).length === 2)
  raw.close()
  // juliet has a password-less account without 3PIDs here, so unbinding the last link would be refused: unbind one of two.
  assert.is(await store.providers.unbind('acc-juliet', 'op'), true)
  assert.equal(await store.providers.links('acc-juliet'), [{ providerID: 'op2', sub: 'j-2', email: null }])
  // A copy each time: a caller's change does not reach the cache.
  ;(await store.providers.links('acc-juliet'))[0]!.sub = 'changed'
  assert.equal(await store.providers.links('acc-juliet'), [{ providerID: 'op2', sub: 'j-2', email: null }])
})

test('a row read once is returned but not kept; read again lately, it is cached', () => {
  const { db, cache, counts, read } = itemsCache(3000, 1_000_000)
  // A scan: every row read once leaves nothing in the cache.
  for (let i = 0; i < 3000; i++) read(`item${i}`)
  assert.equal(cache.stats(), { entries: 0, bytes: 0 })
  // Read again: cached on this read, a hit on the next.
  read('item7')
  assert.equal(cache.stats(), { entries: 1, bytes: 100 })
  counts.loads = 0
  assert.is(read('item7')!.id, 'item7')
  assert.is(counts.loads, 0)
  db.close()
})

test.run()
