// The read cache's off-heap tier (src/store/read-cache.ts with offHeapBytes): what it keeps, and each
// staleness rule again for a row kept only there. (The account store's tests in store-read-cache.test.ts
// run with both tiers: after a write, its next read finds the row's old record off the heap.)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from '../../src/store/driver.ts'
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
  // The doorkeeper's false positives (admission.ts: ~1.4% at most here) are all that reach the heap.
  assert.ok(cache.stats().entries < 60, `${cache.stats().entries} of 3,000 rows read once were kept on the heap`)
  assert.is(cache.stats().offHeap!.entries, 3000)
  counts.loads = 0
  read('item7')
  assert.is(counts.loads, 0)
  db.close()
})

test('a write to a row kept only off the heap is seen by the next read, and the record stored then is fresh', () => {
  const { db, cache, counts, read } = itemsCache(3, 1000, 4096)
  read('item0')
  read('item1')
  db.prepare("UPDATE items SET body = 'y' WHERE id = 'item0'").run()
  // Another write after it: the bookkeeping of changed rows is trimmed at each write; item0's change must stay.
  db.prepare("UPDATE items SET body = 'z' WHERE id = 'item2'").run()
  counts.loads = 0
  assert.is(read('item0')!.body, 'y')
  assert.is(counts.loads, 1)
  assert.is(read('item0')!.body, 'y')
  assert.is(read('item1')!.body, 'x'.repeat(100))
  assert.is(counts.loads, 1, 'item0 stored after its write, and item1 untouched, are read off the heap')
  assert.is(cache.stats().offHeap!.entries, 2)
  db.close()
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
  // Each record: 16 + 5 ("item0") + ~39 of JSON around the 100 x → 160 bytes; 1,600 bytes hold 10.
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
