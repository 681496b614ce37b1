// Durable token-bucket state; the limiter keeps hot state in memory and writes here in batches.
import type { Database } from 'better-sqlite3'

export interface BucketState {
  tokens: number
  updatedAt: number
}

export interface BucketRow extends BucketState {
  rule: string
  subject: string
}

/** Synchronous on purpose: it sits under the in-memory limiter, not under a handler. */
export interface RateBucketStore {
  load(rule: string, subject: string): BucketState | undefined
  /** Upserts `save` and deletes `remove` in one transaction. */
  write(save: BucketRow[], remove: BucketRow[]): void
  /** Deletes the rule's rows that have refilled to capacity by `now` (the same as no row). */
  deleteRefilled(rule: string, capacity: number, refillPerSecond: number, now: number): void
}

export function createRateBucketStore(db: Database): RateBucketStore {
  const select = db.prepare<[string, string], { tokens: number; updated_at: number }>(
    'SELECT tokens, updated_at FROM rate_buckets WHERE rule = ? AND subject = ?',
  )
  const upsert = db.prepare(
    `INSERT INTO rate_buckets (rule, subject, tokens, updated_at) VALUES (@rule, @subject, @tokens, @updatedAt)
     ON CONFLICT (rule, subject) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
  )
  const del = db.prepare('DELETE FROM rate_buckets WHERE rule = @rule AND subject = @subject')
  const deleteFull = db.prepare(
    'DELETE FROM rate_buckets WHERE rule = @rule AND tokens + (@now - updated_at) * @refillPerSecond / 1000.0 >= @capacity',
  )
  const writeAll = db.transaction((save: BucketRow[], remove: BucketRow[]) => {
    for (const row of save) upsert.run(row)
    for (const row of remove) del.run({ rule: row.rule, subject: row.subject })
  })
  return {
    load(rule, subject) {
      const row = select.get(rule, subject)
      return row && { tokens: row.tokens, updatedAt: row.updated_at }
    },
    write: (save, remove) => writeAll.immediate(save, remove),
    deleteRefilled(rule, capacity, refillPerSecond, now) {
      deleteFull.run({ rule, capacity, refillPerSecond, now })
    },
  }
}
