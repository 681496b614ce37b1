// A read cache that any write to the database invalidates: hot reads (profile:get, profile:auth)
// skip SQLite without any module having to remember to invalidate it.
import type { Database } from 'better-sqlite3'

export interface ReadCache<T> {
  get(key: string, load: () => T | undefined): T | undefined
}

/**
 * Entries live until this connection writes anything (SQLite's total_changes(), ~0.1 µs to read)
 * or another process writes the file (PRAGMA data_version, ~3 µs, so read at most every
 * `foreignCheckMs`: the admin CLI's changes are seen within that time).
 */
export function createReadCache<T extends object>(db: Database, options: { maxEntries: number; foreignCheckMs: number }): ReadCache<T> {
  const totalChanges = db.prepare('SELECT total_changes()').pluck()
  const dataVersion = db.prepare('PRAGMA data_version').pluck()
  const entries = new Map<string, T>()
  let seenChanges = -1
  let seenVersion: unknown
  let versionCheckedAt = -Infinity

  function validate() {
    const changes = totalChanges.get() as number
    if (changes !== seenChanges) {
      seenChanges = changes
      entries.clear()
    }
    const now = performance.now()
    if (now - versionCheckedAt >= options.foreignCheckMs) {
      versionCheckedAt = now
      const version = dataVersion.get()
      if (version !== seenVersion) {
        seenVersion = version
        entries.clear()
      }
    }
  }

  return {
    get(key, load) {
      validate()
      const hit = entries.get(key)
      if (hit) return hit
      const value = load()
      if (value) {
        if (entries.size >= options.maxEntries) entries.clear()
        entries.set(key, deepFreeze(value))
      }
      return value
    },
  }
}

/** Cached values are shared between callers: freezing makes an accidental mutation throw instead of leak. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
