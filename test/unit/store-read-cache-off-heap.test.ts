// The read cache's off-heap tier (src/store/read-cache.ts with offHeapBytes): what it keeps, and each
// staleness rule again for a row kept only there. (The account store's tests in store-read-cache.test.ts
// run with both tiers: after a write, its next read finds the row's old record off the heap.)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from '../../src/store/driver.ts'
import { createOffHeapTier } from '../../src/store/off-heap-tier.ts'
import { createReadCache } from '../../src/store/read-cache.ts'
import { itemsCache } from '../support/items-cache.ts'

test('a row read once is kept off the heap only; read again soon, on the heap too', () => {
  const { db, cache, counts, read } = itemsCache(10, 1000, 4096)
  read('item1')
  const record = 16 + 'item1'.length + JSON.stringify({ id: 'item1', body: 'x'.repeat(100) }).length
  assert.equal(cache.stats(), { entries: 0, bytes: 0, offHeap: { entries: 1, bytes: (record + 7) & ~7 } })
  const again = read('item1')
  assert.is(counts.loads, 1, 'the second read loaded the row again')
  assert.is(again!.body, 'x'.repeat(100))
  assert.ok(Object.isFrozen(again), 'a value parsed from the off-heap tier is frozen as a loaded one is')
  assert.equal(cache.stats().entries, 1, 'read twice lately: kept on the heap')
  assert.ok(read('item1') === again, 'the heap tier gives the same object back')
  db.close()
})

test('many rows each read once: all off the heap, next to none on it', () => {
  const { db, cache, counts, read } = itemsCache(3000, 1_000_000, 1 << 20)
  for (let i = 0; i < 3000; i++) read(`item${i}`)
  // The doorkeeper's false positives (admission.ts: ~0.2% here) are all that reach the heap.
  assert.ok(cache.stats().entries < 60, `${cache.stats().entries} of 3,000 rows read once were kept on the heap`)
  assert.is(cache.stats().offHeap!.entries, 3000)
  counts.loads = 0
  read('item7')
  assert.is(counts.loads, 0)
  db.close()
})

test('a write to a row kept only off the heap is seen by its next read, however many writes come between', () => {
  // maxBytes 0: nothing on the heap, every answer below is the off-heap tier's or a load.
  const { db, counts, read } = itemsCache(3, 0, 4096)
  const update = db.prepare('UPDATE items SET body = ? WHERE id = ?')
  read('item0')
  read('item1')
  update.run('y', 'item0')
  read('item2') // a drain (item0 changed), then item2 stored after it
  update.run('z', 'item2')
  counts.loads = 0
  assert.is(read('item2')!.body, 'z', 'a second drain (item2), its record older than the write: stale')
  assert.is(counts.loads, 1)
  assert.is(read('item2')!.body, 'z')
  assert.is(counts.loads, 1, 'the record stored right after the drain that named its row is fresh')
  // item0's change is two drains old and must still be remembered: its record predates it.
  assert.is(read('item0')!.body, 'y')
  assert.is(counts.loads, 2)
  assert.is(read('item0')!.body, 'y')
  assert.is(read('item1')!.body, 'x'.repeat(100))
  assert.is(counts.loads, 2, 'item0 stored after its write, and item1 untouched, are read off the heap')
  db.close()
})

test('past maxChanges remembered rows, the oldest records go so that the oldest change can be forgotten', () => {
  const tier = createOffHeapTier<{ id: string }>(4096, (v) => v.id, 2)
  for (const id of ['a', 'b']) tier.set(id, { id })
  tier.changed(['x'])
  tier.set('c', { id: 'c' }) // stored as of the first drain
  tier.changed(['y'])
  assert.equal(tier.stats().entries, 3, 'two changes remembered: nothing evicted')
  tier.changed(['z'])
  // A third: x's change (the first drain) can be forgotten once no record is older than it: a and b go.
  assert.is(tier.get('a'), undefined)
  assert.is(tier.get('b'), undefined)
  assert.equal(tier.get('c'), { id: 'c' })
  tier.changed(['c'])
  assert.is(tier.get('c'), undefined, 'a change is still seen after the trim')
})

test('a rolled-back write leaves the off-heap tier as it was', () => {
  const { db, counts, read } = itemsCache(3, 1000, 4096)
  read('item0')
  const update = db.prepare("UPDATE items SET body = 'y' WHERE id = 'item0'")
  assert.throws(() => db.transaction(() => (update.run(), db.exec('SELECT no_such_function()')))())
  counts.loads = 0
  assert.is(read('item0')!.body, 'x'.repeat(100))
  assert.is(counts.loads, 0)
  db.close()
})

test("another process's write empties the off-heap tier at the next check", () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-off-heap-'))
  try {
    const path = join(dir, 'items.db')
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.exec("CREATE TABLE items (id TEXT PRIMARY KEY, body TEXT NOT NULL); INSERT INTO items VALUES ('a', 'a0')")
    const select = db.prepare<[string], { id: string; body: string }>('SELECT id, body FROM items WHERE id = ?')
    // foreignCheckMs 0: every read checks PRAGMA data_version (1 s in the store).
    const cache = createReadCache<{ id: string; body: string }>(db, {
      sources: [{ table: 'items', rowKey: 'ROW.id' }], rowKeyOf: (v) => v.id, sizeOf: () => 100, maxBytes: 1000, offHeapBytes: 4096, foreignCheckMs: 0,
    })
    const read = () => cache.get('a', () => select.get('a'))!.body
    assert.is(read(), 'a0')
    assert.is(cache.stats().offHeap!.entries, 1)
    const other = new Database(path)
    other.prepare("UPDATE items SET body = 'a1' WHERE id = 'a'").run()
    other.close()
    assert.is(read(), 'a1')
    db.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('past its bound the off-heap tier drops its oldest rows first', () => {
  // Each record: 16 + 5 ("item0") + 24 of JSON around the 100 x → 152 bytes (145, aligned); 1,600 hold 10.
  const { db, cache, counts, read } = itemsCache(30, 0, 1600)
  for (let i = 0; i < 30; i++) read(`item${i}`)
  assert.is(cache.stats().offHeap!.entries, 10)
  counts.loads = 0
  read('item29')
  assert.is(counts.loads, 0)
  read('item0')
  assert.is(counts.loads, 1)
  db.close()
})

test.run()
