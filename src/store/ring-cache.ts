// The storage under the read cache's off-heap tier (off-heap-tier.ts): records in one preallocated buffer,
// written as a log that wraps, found through an open-addressing hash table in typed arrays. Nothing per
// entry lives on the V8 heap.

/**
 * Why off the heap: a cached row kept as JS objects survives the young generation (the scavenges copy it,
 * then it is promoted), and when an older row is evicted for it, old space fills with garbage that a
 * mark-compact has to collect: in `mixed`, ~1.5 MB/s promoted at half its peak, a mark-compact every 4-10 s
 * that stalls the event loop for 70-120 ms on this machine (README > Performance, the tail). Bytes in a
 * Buffer and slots in typed arrays are neither copied nor walked, and a miss stored here promotes nothing.
 *
 * A record, 8-byte aligned: [u32 key bytes][u32 value bytes][f64 stamp][key UTF-8][value UTF-8]. Records go
 * at the head; when a record does not fit before the buffer's end, a zero word marks the rest as unused and
 * the record starts over at offset 0. Room is made by evicting from the tail, the oldest first (the same
 * order as the heap tier). Positions are logical (they only grow; the buffer offset is position % size), so
 * a record is still in the buffer while `position >= tail`. The table maps a key's hash to its record's
 * position (linear probing, deletion by backward shift, no tombstones); a hit compares the key's bytes.
 * The table has one slot per 128 bytes of buffer (64 at least) and is kept at most half full: records
 * averaging under 256 bytes are bounded by the table, not the buffer.
 */
export interface RingCache {
  /** The value stored under `key` and the stamp it was stored with, or undefined. */
  get(key: string): { text: string; stamp: number } | undefined
  /**
   * Stores `text` under `key`, replacing what was there; false when the key is empty or over 1,024 UTF-8
   * bytes (nothing is stored under it) or the record would not fit in the buffer (the key's record is gone).
   */
  set(key: string, text: string, stamp: number): boolean
  delete(key: string): void
  /** Evicts records from the oldest on until the oldest left has `stamp` or later. */
  evictBefore(stamp: number): void
  clear(): void
  /** The smallest stamp still stored (Infinity when empty): the tail's, as set() is given stamps that never decrease. */
  oldestStamp(): number
  stats(): { entries: number; bytes: number }
}

const headerBytes = 16
const align = (n: number) => (n + 7) & ~7

export function createRingCache(size: number): RingCache {
  if (size < 64 || size % 8 !== 0) throw new Error(`ring cache: size must be a multiple of 8 ≥ 64, not ${size}`)
  // Zeroed by the allocator (calloc): its pages cost memory as records reach them.
  const buffer = Buffer.alloc(size)
  const view = new DataView(buffer.buffer, buffer.byteOffset, size)
  const slots = 2 ** Math.ceil(Math.log2(Math.max(64, size / 128)))
  const mask = slots - 1
  // A slot holds its record's position + 1: 0 is an empty slot, so the zeroed arrays start empty untouched.
  const positions = new Float64Array(slots)
  const hashes = new Int32Array(slots)
  let entries = 0
  let head = 0
  let tail = 0
  // The key being looked up, as UTF-8 (a key longer than this is never stored: set() refuses it).
  const scratch = Buffer.allocUnsafeSlow(1024)

  /** FNV-1a over `bytes` bytes of `from` at `at`. */
  function hashOf(from: Buffer, at: number, bytes: number): number {
    let h = 0x811c9dc5
    for (let i = at; i < at + bytes; i++) h = Math.imul(h ^ from[i]!, 0x01000193)
    return h
  }

  /** The slot holding `key` (already written to scratch: `keyBytes`, `hash`), or -1. */
  function find(keyBytes: number, hash: number): number {
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const stored = positions[i]!
      if (stored === 0) return -1
      if (hashes[i] !== hash) continue
      const at = (stored - 1) % size
      if (view.getUint32(at, true) === keyBytes && scratch.compare(buffer, at + headerBytes, at + headerBytes + keyBytes, 0, keyBytes) === 0) return i
    }
  }

  /** Empties slot `i`, moving later slots of the same run back so every probe still finds its key. */
  function vacate(i: number) {
    entries--
    for (let j = (i + 1) & mask; positions[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[j]! & mask
      // Slot j may move to i when its home is not in the cyclic range (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        positions[i] = positions[j]!
        hashes[i] = hashes[j]!
        i = j
      }
    }
    positions[i] = 0
  }

  /** Drops the tail's record (or the unused end of the buffer) from the log and, if still current, the table. */
  function evictOne() {
    const at = tail % size
    const keyBytes = view.getUint32(at, true)
    if (keyBytes === 0) {
      tail += size - at
      return
    }
    const valueBytes = view.getUint32(at + 4, true)
    for (let i = hashOf(buffer, at + headerBytes, keyBytes) & mask; positions[i] !== 0; i = (i + 1) & mask) {
      if (positions[i] === tail + 1) {
        vacate(i)
        break
      }
    }
    tail += align(headerBytes + keyBytes + valueBytes)
  }

  function oldestStamp(): number {
    // Past an end-of-buffer mark. The tail's record counts even if no longer in the table: a lower bound is enough.
    while (tail < head && view.getUint32(tail % size, true) === 0) tail += size - (tail % size)
    return tail < head ? view.getFloat64((tail % size) + 8, true) : Infinity
  }

  /**
   * Writes `key` to scratch; its byte length, or -1 when empty or too long (so never stored). The same key
   * always gives the same bytes (a lone surrogate becomes U+FFFD, as in SQLite's binding of it).
   */
  function encodeKey(key: string): number {
    if (key.length === 0) return -1
    // UTF-8 takes at most 3 bytes per UTF-16 unit; past that bound, measure (write() would cut the key short).
    if (key.length * 3 > scratch.length && Buffer.byteLength(key) > scratch.length) return -1
    return scratch.write(key, 0, 'utf8')
  }

  return {
    get(key) {
      const keyBytes = encodeKey(key)
      if (keyBytes < 0) return undefined
      const i = find(keyBytes, hashOf(scratch, 0, keyBytes))
      if (i < 0) return undefined
      const at = (positions[i]! - 1) % size
      const start = at + headerBytes + keyBytes
      return { text: buffer.toString('utf8', start, start + view.getUint32(at + 4, true)), stamp: view.getFloat64(at + 8, true) }
    },
    set(key, text, stamp) {
      // (An empty key is refused: key bytes 0 is the end-of-buffer mark.)
      const keyBytes = encodeKey(key)
      if (keyBytes < 0) return false
      const hash = hashOf(scratch, 0, keyBytes)
      const old = find(keyBytes, hash)
      if (old >= 0) vacate(old)
      const valueBytes = Buffer.byteLength(text)
      const length = align(headerBytes + keyBytes + valueBytes)
      if (length > size) return false
      if (size - (head % size) < length) {
        // Does not fit before the end: mark the rest unused and start over at 0.
        while (head + (size - (head % size)) - tail > size) evictOne()
        // (Records and the buffer are 8-byte aligned: at least 8 bytes are left for the mark.)
        view.setUint32(head % size, 0, true)
        head += size - (head % size)
      }
      while (head + length - tail > size || entries >= slots / 2) evictOne()
      const at = head % size
      view.setUint32(at, keyBytes, true)
      view.setUint32(at + 4, valueBytes, true)
      view.setFloat64(at + 8, stamp, true)
      scratch.copy(buffer, at + headerBytes, 0, keyBytes)
      buffer.write(text, at + headerBytes + keyBytes, valueBytes, 'utf8')
      let i = hash & mask
      while (positions[i] !== 0) i = (i + 1) & mask
      positions[i] = head + 1
      hashes[i] = hash
      entries++
      head += length
      return true
    },
    delete(key) {
      const keyBytes = encodeKey(key)
      if (keyBytes < 0) return
      const i = find(keyBytes, hashOf(scratch, 0, keyBytes))
      if (i >= 0) vacate(i)
    },
    evictBefore(stamp) {
      while (oldestStamp() < stamp) evictOne()
    },
    clear() {
      positions.fill(0)
      entries = 0
      head = tail = 0
    },
    oldestStamp,
    stats: () => ({ entries, bytes: head - tail }),
  }
}
