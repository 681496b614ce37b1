// One server process per database file: an OS-level lock the kernel releases when the owner dies.
import Database from './driver.ts'
import { closeSync, openSync } from 'node:fs'

export class DatabaseInUseError extends Error {
  constructor(readonly path: string) {
    super(`database ${path} is in use by another hafnium process`)
    this.name = 'DatabaseInUseError'
  }
}

/**
 * Holds an exclusive SQLite lock on `<db>.lock` for the life of the process.
 * SQLite's locks are fcntl locks, so a process killed with -9 releases them and a
 * restart is never blocked by a stale lock file (unlike a pid file).
 */
export function acquireDatabaseLock(dbPath: string): { release(): void } {
  const lockPath = `${dbPath}.lock`
  // Owner-only like the database (an empty SQLite file until locked; SQLite would create it 0644).
  closeSync(openSync(lockPath, 'a', 0o600))
  const lock = new Database(lockPath, { timeout: 0 })
  try {
    lock.pragma('locking_mode = EXCLUSIVE')
    lock.exec('BEGIN EXCLUSIVE')
  } catch (error) {
    lock.close()
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new DatabaseInUseError(dbPath)
    throw error
  }
  return {
    release() {
      if (!lock.open) return
      lock.exec('ROLLBACK')
      lock.close()
    },
  }
}
