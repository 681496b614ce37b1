// The read cache's off-heap tier (src/store/ring-cache.ts): a log of records in one buffer that wraps, and
// its hash table.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createRingCache } from '../../src/store/ring-cache.ts'

/** A record's bytes in the buffer: a 16-byte header, the key and the value, 8-byte aligned. */
const recordBytes = (key: string, text: string) => (16 + Buffer.byteLength(key) + Buffer.byteLength(text) + 7) & ~7

test('stores, replaces and deletes by key, with each value and stamp as stored (UTF-8 both ways)', () => {
  const ring = createRingCache(1024)
  assert.is(ring.set('user:@jürgen:localhost', '{"name":"Jürgen 🐻"}', 1), true)
  assert.equal(ring.get('user:@jürgen:localhost'), { text: '{"name":"Jürgen 🐻"}', stamp: 1 })
  assert.is(ring.get('user:@juliet:localhost'), undefined)
  ring.set('user:@jürgen:localhost', '{"name":"J"}', 2)
  assert.equal(ring.get('user:@jürgen:localhost'), { text: '{"name":"J"}', stamp: 2 })
  assert.equal(ring.stats().entries, 1)
  ring.delete('user:@jürgen:localhost')
  assert.is(ring.get('user:@jürgen:localhost'), undefined)
  assert.equal(ring.stats().entries, 0)
})

test('past its size the oldest records go first, and the bytes in use never pass the size', () => {
  const text = 'x'.repeat(40) // each record: 16 + 2 + 40 → 64 bytes
  assert.is(recordBytes('k0', text), 64)
  const ring = createRingCache(256)
  for (let i = 0; i < 4; i++) ring.set(`k${i}`, text, i)
  assert.equal(ring.stats(), { entries: 4, bytes: 256 })
  ring.set('k4', text, 4)
  assert.is(ring.get('k0'), undefined, 'the oldest went')
  for (let i = 1; i <= 4; i++) assert.is(ring.get(`k${i}`)?.text, text)
  assert.equal(ring.stats(), { entries: 4, bytes: 256 })
  assert.is(ring.oldestStamp(), 1)
})

test('a record that does not fit before the end starts over at 0, and what it overwrote is gone', () => {
  const ring = createRingCache(256)
  ring.set('a', 'x'.repeat(80), 1) // 104 bytes: 0-104
  ring.set('b', 'x'.repeat(80), 2) // 104-208
  ring.set('c', 'y'.repeat(80), 3) // 48 left at the end: marked unused, c goes to 0-104 over a
  assert.is(ring.get('a'), undefined)
  assert.is(ring.get('b')?.text, 'x'.repeat(80))
  assert.is(ring.get('c')?.text, 'y'.repeat(80))
  assert.is(ring.oldestStamp(), 2)
  ring.set('d', 'z'.repeat(80), 4) // 104-208, over b
  assert.is(ring.get('b'), undefined)
  assert.is(ring.get('c')?.text, 'y'.repeat(80))
  assert.is(ring.get('d')?.text, 'z'.repeat(80))
  assert.is(ring.oldestStamp(), 3, 'the tail skipped the unused end')
})

test('under random sets, replaces and deletes, a key gives its last value or nothing, never another', () => {
  // 4,096 bytes: 64 table slots, so at most 32 records; 200 keys keep its probe runs long and moving.
  const ring = createRingCache(4096)
  const last = new Map<string, string>()
  let seed = 42
  const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n)
  for (let i = 0; i < 20_000; i++) {
    // Multibyte keys: evictOne re-hashes the stored bytes, which must give the hash set() used.
    const key = `kéy${random(200)}€`
    if (random(10) === 0) {
      ring.delete(key)
      last.delete(key)
      continue
    }
    const text = `${key}:${i}:` + 'é'.repeat(random(120))
    assert.is(ring.set(key, text, i), true)
    last.set(key, text)
    assert.is(ring.get(key)?.text, text, 'the newest record is always there')
    assert.ok(ring.stats().bytes <= 4096)
    if (i % 97 === 0) {
      let found = 0
      for (const [k, v] of last) {
        const got = ring.get(k)
        if (got !== undefined) assert.is(got.text, v), found++
      }
      // Every record the table counts can be found: a deletion that broke a probe run would lose some.
      assert.is(found, ring.stats().entries)
      assert.ok(found <= 32)
    }
  }
})

test('many small records: the table bounds them (half its slots), the oldest going first', () => {
  const ring = createRingCache(8192) // 64 slots: at most 32 records, though 8,192 bytes would hold 256 of these
  for (let i = 0; i < 100; i++) ring.set(`k${i}`, 'x', i)
  assert.is(ring.stats().entries, 32)
  assert.is(ring.get('k67'), undefined)
  for (let i = 68; i < 100; i++) assert.is(ring.get(`k${i}`)?.stamp, i)
})

test('a record larger than the buffer, or with an empty or too long key, is refused', () => {
  const ring = createRingCache(128)
  assert.is(ring.set('big', 'x'.repeat(200), 1), false)
  assert.is(ring.set('', 'x', 1), false)
  assert.is(ring.set('é'.repeat(600), 'x', 1), false, 'a key of 1,200 UTF-8 bytes')
  assert.is(ring.get('é'.repeat(600)), undefined)
  assert.equal(ring.stats(), { entries: 0, bytes: 0 })
  assert.is(ring.oldestStamp(), Infinity)
  assert.throws(() => createRingCache(100), /multiple of 8/)
})

test('a key with a lone surrogate is stored and found as its UTF-8 (U+FFFD), evicted like any other', () => {
  const ring = createRingCache(256)
  ring.set('a\uD800', 'x'.repeat(80), 1)
  assert.is(ring.get('a\uD800')?.text, 'x'.repeat(80))
  for (let i = 2; i < 6; i++) ring.set(`k${i}`, 'y'.repeat(80), i)
  assert.is(ring.get('a\uD800'), undefined)
  assert.ok(ring.stats().entries <= 2)
})

test('evictBefore drops the oldest records until the oldest left has that stamp', () => {
  const ring = createRingCache(1024)
  for (let i = 0; i < 6; i++) ring.set(`k${i}`, 'x', i)
  ring.evictBefore(3)
  assert.is(ring.oldestStamp(), 3)
  assert.is(ring.get('k2'), undefined)
  assert.is(ring.get('k3')?.stamp, 3)
  assert.equal(ring.stats().entries, 3)
  ring.evictBefore(Infinity)
  assert.equal(ring.stats(), { entries: 0, bytes: 0 })
})

test('clear empties it', () => {
  const ring = createRingCache(256)
  ring.set('a', 'x', 1)
  ring.clear()
  assert.is(ring.get('a'), undefined)
  assert.equal(ring.stats(), { entries: 0, bytes: 0 })
  assert.is(ring.oldestStamp(), Infinity)
})

test.run()
