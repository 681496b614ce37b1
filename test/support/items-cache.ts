// A read cache over a table of items, for the read cache's own tests (src/store/read-cache.ts).
import type BetterSqlite3 from 'better-sqlite3'
import Database from '../../src/store/driver.ts'
import { createReadCache, type ReadCache } from '../../src/store/read-cache.ts'

interface Item {
  id: string
  body: string
}

/**
 * A table of `count` items of 100 characters each (`item0`…), and a cache over it holding `maxBytes` on the
 * heap (each item 100) and, given `offHeapBytes`, an off-heap tier. `read` counts its loads.
 */
export function itemsCache(count: number, maxBytes: number, offHeapBytes?: number): {
  db: BetterSqlite3.Database
  select: BetterSqlite3.Statement<[string], Item>
  cache: ReadCache<Item>
  counts: { loads: number }
  read(id: string): Item | undefined
} {
  const db = new Database(':memory:')
  db.exec('CREATE TABLE items (id TEXT PRIMARY KEY, body TEXT NOT NULL)')
  const insert = db.prepare('INSERT INTO items VALUES (?, ?)')
  const select = db.prepare<[string], Item>('SELECT id, body FROM items WHERE id = ?')
  for (let i = 0; i < count; i++) insert.run(`item${i}`, 'x'.repeat(100))
  const cache = createReadCache<Item>(db, {
    sources: [{ table: 'items', rowKey: 'ROW.id' }],
    rowKeyOf: (v) => v.id,
    sizeOf: () => 100,
    maxBytes,
    offHeapBytes,
    foreignCheckMs: 1000,
  })
  const counts = { loads: 0 }
  const read = (id: string) => cache.get(id, () => (counts.loads++, select.get(id)))
  return { db, select, cache, counts, read }
}
