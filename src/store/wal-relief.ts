// After a full disk: the WAL checkpointed after every commit until its space is handed back.
import type { SqliteDatabase } from './driver.ts'

/**
 * After SQLITE_FULL, checkpoint after every commit until one TRUNCATE checkpoint succeeds, then go back to
 * the usual setting (SQLite's default, or the checkpointer's). Otherwise the WAL (checkpointed at 1,000 pages, ~4 MiB) takes the space that comes
 * back, and the checkpoint that would let it be reused finds none left to grow the database file: writes
 * stop again for good (measured on a 4 MiB tmpfs: 1 MiB freed, 119 more commits, then SQLITE_FULL).
 * The TRUNCATE also hands the WAL's space back to the disk.
 */
export function walRelief(db: SqliteDatabase, retryMs: number, wanted?: () => number): { onDiskFull(): void; stop(): void } {
  // What to go back to: the checkpointer's setting as it is then (its worker may have failed meanwhile), else what was found.
  const found = db.pragma('wal_autocheckpoint', { simple: true }) as number
  const usual = wanted ?? (() => found)
  let timer: NodeJS.Timeout | undefined
  const stop = () => {
    clearInterval(timer)
    timer = undefined
  }
  return {
    onDiskFull() {
      if (timer || !db.open) return
      db.pragma('wal_autocheckpoint = 1')
      timer = setInterval(() => {
        try {
          const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[]
          if (result?.busy !== 0) return
        } catch {
          return // still full: the next tick tries again
        }
        db.pragma(`wal_autocheckpoint = ${usual()}`)
        stop()
      }, retryMs)
      timer.unref()
    },
    stop,
  }
}
