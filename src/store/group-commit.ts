// Group commit: the writes queued during one turn of the event loop share one SQLite transaction.
import { endTurn } from '../turn-end.ts'
import type { Database } from 'better-sqlite3'

export interface GroupCommit {
  /**
   * Queues `operation` for the next batch and resolves with its result once that batch has committed (or
   * rejects with its own error: the batch's other operations still commit). The operation runs inside a
   * savepoint in the batch's transaction, so it must be synchronous; a nested db.transaction() is fine
   * (better-sqlite3 makes it a savepoint too).
   */
  run<T>(operation: () => T): Promise<T>
  /** Commits what is queued now, synchronously (before close, and in tests). */
  flush(): void
}

interface Queued {
  operation: () => unknown
  resolve: (value: any) => void
  reject: (error: unknown) => void
}

/**
 * One commit per batch instead of one per write: with WAL and synchronous=NORMAL a commit is a WAL write
 * and its bookkeeping, ~30 µs of CPU, several times an INSERT's own cost (measured here: 25,700 autocommit
 * INSERTs per CPU-second, 85,600 in batches of 8, 194,000 in batches of 64). The batch runs in the check
 * phase (setImmediate), so every request read from the sockets in one poll joins it; `maxBatch` bounds how
 * long one batch holds the thread. Replies wait for the commit: an acknowledged write is durable as far as
 * the configured synchronous level makes any commit durable.
 */
/** For a store opened without group commit: each write commits on its own, at once. */
export const commitEach: Pick<GroupCommit, 'run'> = { run: async (operation) => operation() }

export function createGroupCommit(db: Database, options: { maxBatch?: number; maxChained?: number } = {}): GroupCommit {
  const maxBatch = options.maxBatch ?? 256
  const maxChained = options.maxChained ?? 16
  const queue: Queued[] = []
  // Prepared once: db.exec compiles its SQL on every call, which cost more than the INSERTs it wrapped.
  const [begin, savepoint, release, rollbackTo, commitBatch, rollback] = [
    'BEGIN IMMEDIATE', 'SAVEPOINT op', 'RELEASE op', 'ROLLBACK TO op', 'COMMIT', 'ROLLBACK',
  ].map((sql) => db.prepare(sql))
  let scheduled = false
  let chained = 0

  function flush() {
    scheduled = false
    chained = 0
    commitQueued()
  }

  function commitQueued() {
    if (queue.length === 0) return
    while (queue.length > 0) {
      const batch = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue.splice(0)
      commit(batch)
    }
    queueMicrotask(afterReactions)
  }

  // What a commit answers often queues the next write at once: a connection's next request in its in-order
  // queue starts when the previous reply is sent. Waiting a whole event-loop turn for it costs each socket a
  // write and a read per request (chat:send, 32 pairs of users: one request per socket per turn, where a
  // read-only type answers all 8 queued in one). So the writes queued by the reactions to a commit are
  // committed in the same turn, as a batch of their own: a nextTick queued from a microtask runs once the
  // microtask queue is empty, i.e. after every reaction (awaits included) has run. At most maxChained rounds
  // per turn, so a handler writing in a loop cannot keep the thread from the sockets.
  function afterReactions() {
    process.nextTick(chain)
  }
  // When the chain ends, the turn's held output (replies corked on their sockets) leaves at once, in this
  // check phase, rather than in the next loop iteration's (src/turn-end.ts).
  function chain() {
    if (queue.length === 0 || chained >= maxChained) return endTurn()
    chained++
    commitQueued()
  }

  // Whatever throws outside an operation (a savepoint on a closed handle, a failed rollback) fails the batch
  // rather than escaping setImmediate as an uncaught exception with its promises never settled.
  function commit(batch: Queued[]) {
    try {
      commitBatchOf(batch)
    } catch (error) {
      try {
        if (db.inTransaction) rollback!.run()
      } catch {}
      for (const q of batch) q.reject(error)
    }
  }

  function commitBatchOf(batch: Queued[]) {
    const outcomes: { ok: boolean; value: unknown }[] = []
    try {
      begin!.run()
    } catch (error) {
      // Busy (another process holds the write lock past busy_timeout) or closed: nothing ran, all fail alike.
      for (const q of batch) q.reject(error)
      return
    }
    if (batch.length === 1) return commitLone(batch[0]!)
    for (const q of batch) {
      savepoint!.run()
      try {
        outcomes.push({ ok: true, value: q.operation() })
        release!.run()
      } catch (error) {
        if (!db.inTransaction) {
          // SQLite rolled the whole transaction back (SQLITE_FULL, I/O error): the batch's earlier work is
          // gone with it, so every operation fails with this error; the rest are retried in a new batch.
          const rest = batch.slice(outcomes.length + 1)
          for (const done of batch.slice(0, outcomes.length + 1)) done.reject(error)
          if (rest.length > 0) commit(rest)
          return
        }
        // Undo this operation alone; the transaction and the others' work stay.
        rollbackTo!.run()
        release!.run()
        outcomes.push({ ok: false, value: error })
      }
    }
    try {
      commitBatch!.run()
    } catch (error) {
      // The commit itself failed (e.g. SQLITE_FULL): nothing of the batch is there, so nobody is told otherwise.
      if (db.inTransaction) rollback!.run()
      for (const q of batch) q.reject(error)
      return
    }
    batch.forEach((q, i) => (outcomes[i]!.ok ? q.resolve(outcomes[i]!.value) : q.reject(outcomes[i]!.value)))
  }

  // A lone operation needs no savepoint: if it fails, the transaction holds nothing else, so rolling it back
  // undoes exactly that operation. It saves 2 of a lone write's 5 statements (48.6 -> 44.1 µs of CPU per
  // write in a plain loop, batches of 1, load 14); chained batches are often this small.
  function commitLone(q: Queued) {
    let value: unknown
    try {
      value = q.operation()
    } catch (error) {
      if (db.inTransaction) rollback!.run()
      q.reject(error)
      return
    }
    try {
      commitBatch!.run()
    } catch (error) {
      if (db.inTransaction) rollback!.run()
      q.reject(error)
      return
    }
    q.resolve(value)
  }

  return {
    run<T>(operation: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ operation, resolve, reject })
        if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
      })
    },
    flush,
  }
}
