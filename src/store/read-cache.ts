// A read cache that survives writes: a write drops the cached rows it changed, not the whole cache, so hot
// reads (profile:get, profile:auth, other users' profiles) skip SQLite while the database keeps changing.
import type { Database } from 'better-sqlite3'
import { writeCountOf, type SharedRead } from './shared-read.ts'
import { createDoorkeeper } from './admission.ts'
import { createOffHeapTier } from './off-heap-tier.ts'

export interface ReadCache<T> {
  get(key: string, load: () => T | undefined): T | undefined
  /** The heap tier's entries and their estimated size, and the off-heap tier's when there is one (tests, metrics). */
  stats(): { entries: number; bytes: number; offHeap?: { entries: number; bytes: number } }
}

export interface ReadCacheOptions<T> {
  /**
   * The tables a cached value is read from, each with the SQL expression (over NEW/OLD) naming the cached
   * row it belongs to. Temporary triggers on this connection record every row any statement changes, so
   * no store module has to remember to invalidate (there are ~30 that write accounts or 3PIDs).
   */
  sources: { table: string; rowKey: string }[]
  /** The cached row a value belongs to (what `rowKey` yields for it). */
  rowKeyOf(value: T): string
  /** An estimate of the value's heap size in bytes. */
  sizeOf(value: T): number
  /** Bound on the sum of sizeOf over the heap tier's entries: past it the oldest entries go first. */
  maxBytes: number
  /**
   * Bytes of an off-heap tier (off-heap-tier.ts, ring-cache.ts), for values that are JSON data: every
   * miss is kept there serialised (a hit parses it, ~5-7 µs for an account, against 45-49 for SQLite's
   * read), and the heap tier keeps only rows read twice within the last ~1,000-2,000 reads that missed it
   * (an owner's own reads), so reads spread over many rows promote nothing for the GC to collect.
   */
  offHeapBytes?: number
  /** Another process's writes (the admin CLI) are seen within this time: they fire no trigger here. */
  foreignCheckMs: number
  /**
   * Runs a miss's load in the turn's shared read transaction (shared-read.ts): on its own, a point read on
   * a WAL file opens and ends a read transaction, ~7 of a cold account read's ~40 µs.
   */
  reads?: Pick<SharedRead, 'run'>
}

interface Entry<T> {
  value: T
  rowKey: string
  bytes: number
}

let caches = 0

/**
 * Staleness rules: (1) this connection's writes drop exactly the rows they changed, before the next read
 * (SQLite's total_changes() tells whether there is anything to drain; on a handle guarded by guardWrites
 * it is asked only when the handle's write count has moved since the last look: a statement per cached
 * read, two per own profile:get, was ~5% of its CPU where nothing was being written); (2) another process's
 * writes empty the cache within `foreignCheckMs` (PRAGMA data_version, ~3 µs, read at most that often);
 * (3) a rolled-back write changes nothing and records nothing (the trigger's own row rolls back with it).
 * The same rules hold off the heap (offHeapBytes): the drain stamps each row it names, and a record stored
 * before its row's last change is dropped when found.
 * What it keeps: a row read a second time lately (admission.ts), up to maxBytes, the oldest out first;
 * with an off-heap tier, every row read, up to offHeapBytes, the oldest out first.
 */
export function createReadCache<T extends object>(db: Database, options: ReadCacheOptions<T>): ReadCache<T> {
  const changedTable = `cache_changed_rows_${++caches}`
  db.exec(`CREATE TEMP TABLE ${changedTable} (row_key TEXT NOT NULL)`)
  for (const { table, rowKey } of options.sources) {
    const record = (row: 'NEW' | 'OLD') => `INSERT INTO temp.${changedTable} VALUES (${rowKey.replaceAll('ROW', row)});`
    const trigger = (event: string, body: string) =>
      db.exec(`CREATE TEMP TRIGGER ${changedTable}_${table}_${event.toLowerCase()} AFTER ${event} ON main.${table} BEGIN ${body} END`)
    trigger('INSERT', record('NEW'))
    trigger('UPDATE', record('OLD') + record('NEW'))
    trigger('DELETE', record('OLD'))
  }
  const totalChanges = db.prepare('SELECT total_changes()').pluck()
  const drainChanged = db.prepare(`DELETE FROM temp.${changedTable} RETURNING row_key`).pluck()
  const dataVersion = db.prepare('PRAGMA data_version').pluck()
  const writeCount = writeCountOf(db)
  let seenWrites = -1
  const entries = new Map<string, Entry<T>>()
  // A row's cache keys: one string (the usual case), or an array when a row is cached under several keys.
  // Not a Set per row: every cached entry survives to old space, and a one-element Set was ~140 of its
  // ~1,010 promoted bytes, which the scavenges copy (README > Performance, the tail).
  const keysOfRow = new Map<string, string | string[]>()
  let bytes = 0
  let seenChanges = -1
  let seenVersion: unknown
  let versionCheckedAt = -Infinity
  let evictor = entries.keys()
  // With an off-heap tier the heap tier is for rows read often, so "lately" is short: the last 1,024-2,048
  // reads that missed the heap (admission.ts's false positives ~0.2%: up to 1,024 keys in each 2^16-bit
  // filter); without, it is the second miss in ~65,000.
  const offHeap = options.offHeapBytes ? createOffHeapTier(options.offHeapBytes, options.rowKeyOf) : undefined
  const doorkeeper = offHeap ? createDoorkeeper(2 ** 16, 2 ** 10) : createDoorkeeper()

  function drop(key: string) {
    const entry = entries.get(key)
    if (!entry) return
    entries.delete(key)
    bytes -= entry.bytes
    const keys = keysOfRow.get(entry.rowKey)
    if (keys === key) keysOfRow.delete(entry.rowKey)
    else if (Array.isArray(keys)) {
      const rest = keys.filter((k) => k !== key)
      if (rest.length === 0) keysOfRow.delete(entry.rowKey)
      else keysOfRow.set(entry.rowKey, rest.length === 1 ? rest[0]! : rest)
    }
  }

  function clear() {
    entries.clear()
    keysOfRow.clear()
    bytes = 0
    offHeap?.clear()
  }

  function keep(key: string, value: T) {
    const entry = { value, rowKey: options.rowKeyOf(value), bytes: options.sizeOf(value) }
    if (entry.bytes > options.maxBytes) return
    // Map order is insertion order: the oldest entries make room. One iterator kept across calls: a
    // fresh entries.keys() per insert walked every slot the evictions before it had emptied (V8 keeps
    // them until it rehashes), which made a miss on a full cache cost several times the read itself.
    while (bytes + entry.bytes > options.maxBytes) {
      let oldest = evictor.next()
      if (oldest.done) oldest = (evictor = entries.keys()).next()
      if (oldest.done) break
      drop(oldest.value)
    }
    entries.set(key, entry)
    bytes += entry.bytes
    const keys = keysOfRow.get(entry.rowKey)
    if (keys === undefined) keysOfRow.set(entry.rowKey, key)
    else if (typeof keys === 'string') keysOfRow.set(entry.rowKey, [keys, key])
    else keys.push(key)
  }

  function validate() {
    if (writeCount === undefined || writeCount.writes !== seenWrites) {
      if (totalChanges.get() !== seenChanges) {
        const changed = drainChanged.all() as string[]
        for (const rowKey of changed) {
          const keys = keysOfRow.get(rowKey)
          if (typeof keys === 'string') drop(keys)
          // drop() replaces a row's array, never changes it in place: iterating it here is safe.
          else if (keys) for (const key of keys) drop(key)
        }
        offHeap?.changed(changed)
        // The drain's own deletions count too: read the counter after it.
        seenChanges = totalChanges.get() as number
      }
      // After the drain, itself a write path.
      if (writeCount) seenWrites = writeCount.writes
    }
    const now = performance.now()
    if (now - versionCheckedAt >= options.foreignCheckMs) {
      versionCheckedAt = now
      const version = dataVersion.get()
      if (version !== seenVersion) {
        seenVersion = version
        clear()
      }
    }
  }

  return {
    get(key, load) {
      validate()
      const hit = entries.get(key)
      if (hit) return hit.value
      let value = offHeap?.get(key)
      if (value !== undefined) deepFreeze(value)
      else {
        value = options.reads ? options.reads.run(load) : load()
        if (!value) return value
        // Frozen whether kept or not, so a caller that changes a value fails on a row read once as on a hot one.
        deepFreeze(value)
        offHeap?.set(key, value)
      }
      // A row not read lately is returned, not kept on the heap (admission.ts); a read soon after keeps it.
      if (doorkeeper.admit(key)) keep(key, value)
      return value
    },
    stats: () => ({ entries: entries.size, bytes, ...(offHeap && { offHeap: offHeap.stats() }) }),
  }
}

/**
 * Cached values are shared between callers: freezing (every value, kept or not) makes an accidental
 * mutation throw instead of leak.
 */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key in value) deepFreeze(value[key])
  }
  return value
}
