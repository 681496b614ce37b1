// One read transaction per event-loop turn for the store's hot point reads, ended before any write.
import type { Database, Statement, Transaction } from 'better-sqlite3'

export interface SharedRead {
  /**
   * Runs `read` (synchronous, read-only) in this turn's read transaction, opening it when none is open.
   * Inside another transaction (a write batch's operation) it runs in that one.
   */
  run<T>(read: () => T): T
  /** Ends the shared read transaction if one is open (before a write, before close). */
  end(): void
}

/**
 * Outside a transaction every statement opens and ends its own read transaction (a shared lock on the
 * file, a WAL-index snapshot): on a WAL file most of a point look-up's cost. profile:auth's look-up by
 * token costs ~7 µs on its own and ~2 µs inside a transaction shared with others (better-sqlite3 on the
 * bench fixture), so the first such read of a turn opens a read transaction (BEGIN) and the later ones
 * of the turn use it. Its rules:
 * - it ends before this connection writes anything: `guardWrites` makes every write path (a statement
 *   that writes, a transaction function, exec, pragma, group commit's BEGIN IMMEDIATE) end it first, so a
 *   write is never held in it, and every read after an acknowledged write of this process sees it;
 * - it ends in the check phase of the turn that opened it (setImmediate, beside group commit's flush;
 *   a pending immediate keeps the poll phase from blocking), so another process's write (the admin CLI)
 *   is seen from the next turn on. One opened in the check phase itself (a request a commit's reply let
 *   through) lasts until the next iteration's check phase: Node runs an Immediate queued there in the
 *   next iteration. So a snapshot is at most one loop iteration old, and only for other processes' writes;
 * - if it cannot end (the handle busy, e.g. an iterator in progress), it stays marked open, is tried
 *   again next turn, and the write that wanted it ended fails rather than run inside it.
 * Reads are answered at once (no deferral): a socket's requests are handled one after the other, so
 * deferring a read to the end of the turn made each of a socket's pipelined requests wait a turn.
 */
export function createSharedRead(db: Database): SharedRead {
  // Prepared before guardWrites wraps prepare: these must not end what they open.
  const begin = db.prepare('BEGIN')
  const commit = db.prepare('COMMIT')
  const rollback = db.prepare('ROLLBACK')
  let open = false
  let scheduled = false

  function schedule() {
    if (scheduled) return
    scheduled = true
    setImmediate(endOfTurn)
  }

  function end() {
    if (!open) return
    // A failing statement can make SQLite roll a transaction back by itself; a read one loses nothing.
    if (db.inTransaction) {
      try {
        commit.run()
      } catch (error) {
        try {
          rollback.run()
        } catch {
          // Still open: the next turn tries again, and the caller (a write) must not run inside it.
          schedule()
          throw error
        }
      }
    }
    open = false
  }

  function endOfTurn() {
    scheduled = false
    try {
      end()
    } catch {} // rescheduled by end()
  }

  return {
    run(read) {
      if (!open && !db.inTransaction && db.open) {
        begin.run()
        open = true
        schedule()
      }
      return read()
    },
    end,
  }
}

/** How many times a write path of each guarded handle has been entered (guardWrites counts them). */
const writeCounts = new WeakMap<Database, { writes: number }>()

/**
 * The write count of a handle guarded by guardWrites, undefined for any other: while it stands still,
 * nothing on this connection has written (the read cache then skips its own check for changed rows).
 */
export function writeCountOf(db: Database): { readonly writes: number } | undefined {
  return writeCounts.get(db)
}

type AnyFunction = (...args: any[]) => any
const transactionControl = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i

/**
 * Makes every way this handle can write end `shared` first, and count (writeCountOf): statements that
 * write (SQLite's own readonly flag; transaction control counts as a write here), transaction functions
 * (all four variants), exec and pragma. Call it right after opening, before anything is prepared: what was prepared
 * before is not covered.
 */
export function guardWrites(db: Database, shared: Pick<SharedRead, 'end'>): void {
  const count = { writes: 0 }
  writeCounts.set(db, count)
  // Counted before the write runs: whatever reads after it (a statement inside a transaction function is
  // wrapped too, so it counts again) sees the count moved.
  const before = <F extends AnyFunction>(f: F): F =>
    function (this: unknown, ...args: unknown[]) {
      count.writes++
      shared.end()
      return f.apply(this, args)
    } as F
  const prepare = db.prepare.bind(db)
  db.prepare = ((source: string) => {
    const statement = prepare(source) as Statement & Record<string, unknown>
    if (!statement.readonly || transactionControl.test(source)) {
      for (const method of ['run', 'get', 'all', 'iterate'] as const) statement[method] = before((statement[method] as AnyFunction).bind(statement))
    }
    return statement
  }) as Database['prepare']
  const transaction = db.transaction.bind(db)
  db.transaction = ((fn: AnyFunction) => {
    const made = transaction(fn)
    const wrapped = before(made) as unknown as Record<string, unknown>
    for (const variant of ['deferred', 'immediate', 'exclusive'] as const) wrapped[variant] = before(made[variant])
    wrapped.default = wrapped
    wrapped.database = db
    return wrapped as unknown as Transaction<AnyFunction>
  }) as Database['transaction']
  db.exec = before(db.exec.bind(db))
  db.pragma = before(db.pragma.bind(db))
}
