// Online backup and restore of the database file and its outbox key, beside (backup) or instead of (restore) a server.
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync } from 'node:fs'
import Database, { type SqliteDatabase } from './driver.ts'
import { acquireDatabaseLock } from './lock.ts'

export interface BackupResult {
  pages: number
  /** The key file copied beside the backup, or null when the database has none (HAFNIUM_OUTBOX_KEY holds it). */
  keyFile: string | null
}

/**
 * Copies a live database with SQLite's online backup API. The source is opened read-only and never
 * locked against the server: a WAL reader does not block writers. The whole copy is one backup step,
 * so it reads one snapshot; in small steps, every commit of the server between two steps would restart
 * the copy from the first page, and under a steady write load it might never finish.
 * The copy is written under a temporary name, switched to a rollback journal (one self-contained file),
 * checked, then renamed into place: `out` is either absent or a complete, checked backup.
 */
export async function backupDatabase(dbPath: string, out: string): Promise<BackupResult> {
  if (existsSync(out)) throw new Error(`${out} already exists; choose a new name (a backup never overwrites)`)
  const temporary = `${out}.${process.pid}.partial`
  const source = new Database(dbPath, { readonly: true, fileMustExist: true })
  let pages: number
  try {
    ;({ totalPages: pages } = await source.backup(temporary, { progress: () => 0x7fffffff }))
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  } finally {
    source.close()
  }
  try {
    const copy = new Database(temporary)
    try {
      copy.pragma('journal_mode = DELETE')
      const verdict = integrityCheck(copy)
      if (verdict !== 'ok') throw new Error(`the copy failed its integrity check: ${verdict}`)
    } finally {
      copy.close()
    }
    chmodSync(temporary, 0o600)
    renameSync(temporary, out)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
  // The key seals the outbox's pending codes; without it they cannot be sent after a restore.
  const key = `${dbPath}.key`
  if (!existsSync(key)) return { pages, keyFile: null }
  copyFileSync(key, `${out}.key`)
  chmodSync(`${out}.key`, 0o600)
  return { pages, keyFile: `${out}.key` }
}

/**
 * Replaces `dbPath` with the backup `from`. Holds the server lock for the whole restore, so it refuses a
 * database in use (DatabaseInUseError) and no server starts on a half-restored file. The backup is
 * checked first; the copy goes through SQLite's backup API into the target, whose pager replaces the
 * pages and discards the target's old WAL, so no stale -wal file can be replayed over the restored data.
 */
export async function restoreDatabase(from: string, dbPath: string): Promise<{ pages: number; keyRestored: boolean }> {
  const lock = acquireDatabaseLock(dbPath)
  try {
    const source = new Database(from, { readonly: true, fileMustExist: true })
    let pages: number
    try {
      const verdict = integrityCheck(source)
      if (verdict !== 'ok') throw new Error(`${from} failed its integrity check: ${verdict}`)
      ;({ totalPages: pages } = await source.backup(dbPath, { progress: () => 0x7fffffff }))
    } finally {
      source.close()
    }
    const target = new Database(dbPath)
    try {
      target.pragma('wal_checkpoint(TRUNCATE)')
      const verdict = integrityCheck(target)
      if (verdict !== 'ok') throw new Error(`the restored ${dbPath} failed its integrity check: ${verdict}`)
    } finally {
      target.close()
    }
    const key = `${from}.key`
    if (!existsSync(key)) return { pages, keyRestored: false }
    const temporary = `${dbPath}.key.${process.pid}.partial`
    copyFileSync(key, temporary)
    chmodSync(temporary, 0o600)
    renameSync(temporary, `${dbPath}.key`)
    return { pages, keyRestored: true }
  } finally {
    lock.release()
  }
}

function integrityCheck(db: SqliteDatabase): string {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[]
  return rows.map((row) => row.integrity_check).join('; ')
}
