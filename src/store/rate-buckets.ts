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

/** One bucket of a shared take: the rule's name and size, whose bucket it is, and the tokens to take (≤ capacity). */
export interface SharedCharge {
  rule: string
  subject: string
  capacity: number
  refillPerSecond: number
  cost: number
}

/** What a shared take did: `buckets` are the rows after the take, or as found when it was refused. */
export interface SharedTake {
  taken: boolean
  buckets: BucketState[]
}

/**
 * A shared charge read together with the row that names its bucket (a login's account): the subject is
 * `subjectPrefix` + the found row's id, or `otherwise` when nothing is found. `now` is the limiter's clock.
 */
export interface ChargeOnFind extends Omit<SharedCharge, 'subject'> {
  subjectPrefix: string
  otherwise: string
  now: number
}

/** What the take of a ChargeOnFind did: the subject it charged, and its bucket after the take, or as found when refused. */
export interface TookOnFind {
  subject: string
  taken: boolean
  bucket: BucketState
}

/** Synchronous on purpose: it sits under the in-memory limiter, not under a handler. */
export interface RateBucketStore {
  load(rule: string, subject: string): BucketState | undefined
  /** Upserts `save` and deletes `remove` in one transaction. */
  write(save: BucketRow[], remove: BucketRow[]): void
  /** Deletes the rule's rows that have refilled to capacity by `now` (the same as no row). */
  deleteRefilled(rule: string, capacity: number, refillPerSecond: number, now: number): void
  /**
   * Takes each charge's cost from its bucket in the database itself, all or none, refilled up to `now`:
   * exact however many processes share the database. Absent on SQLite, where one process holds the file
   * and its in-memory counts are already exact.
   */
  takeShared?(charges: readonly SharedCharge[], now: number): Promise<SharedTake>
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
