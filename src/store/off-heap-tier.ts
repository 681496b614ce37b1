// The read cache's off-heap tier: values kept serialised in a ring (ring-cache.ts), with the staleness rule
// that the heap tier gets from dropping entries (read-cache.ts).
import { createRingCache } from './ring-cache.ts'

export interface OffHeapTier<T> {
  /** The value stored under `key`, parsed, unless a write changed its row after it was stored. */
  get(key: string): T | undefined
  /** Stores `value` (JSON data) under `key`, as of the last drain. */
  set(key: string, value: T): void
  /** One drain's changed rows: their records stored before now are stale. */
  changed(rowKeys: string[]): void
  clear(): void
  stats(): { entries: number; bytes: number }
}

/**
 * Each drain of changed rows is a new stamp, and a record is stale when its row changed at a stamp later
 * than its own. `changedAt` is oldest first (a row changed again moves to the end), and a change no later
 * than the oldest record's stamp cannot make any record stale, so it is forgotten: the map holds the rows
 * changed while the oldest record has been in the ring. A warm ring may keep its oldest record for long,
 * so past `maxChanges` rows the oldest records go (evictBefore) until the oldest change can be forgotten.
 */
export function createOffHeapTier<T>(bytes: number, rowKeyOf: (value: T) => string, maxChanges = 2 ** 14): OffHeapTier<T> {
  const ring = createRingCache(bytes)
  let stamp = 0
  const changedAt = new Map<string, number>()
  return {
    get(key) {
      const stored = ring.get(key)
      if (!stored) return undefined
      const value = JSON.parse(stored.text) as T
      const changed = changedAt.get(rowKeyOf(value))
      if (changed !== undefined && changed > stored.stamp) {
        ring.delete(key)
        return undefined
      }
      return value
    },
    set: (key, value) => void ring.set(key, JSON.stringify(value), stamp),
    changed(rowKeys) {
      if (rowKeys.length === 0) return
      stamp++
      for (const rowKey of rowKeys) {
        changedAt.delete(rowKey)
        changedAt.set(rowKey, stamp)
      }
      if (changedAt.size > maxChanges) ring.evictBefore(changedAt.values().next().value!)
      const oldest = ring.oldestStamp()
      for (const [rowKey, at] of changedAt) {
        if (at > oldest) break
        changedAt.delete(rowKey)
      }
    },
    clear() {
      ring.clear()
      changedAt.clear()
    },
    stats: () => ring.stats(),
  }
}
