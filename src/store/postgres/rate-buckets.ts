// Rate-limit buckets on PostgreSQL behind the synchronous RateBucketStore the in-memory limiter uses.
// Rows are read once at start (so a restart does not refill a drained bucket) and written behind, in
// order; a failed write surfaces at the next flush (logged there) and the buckets stay in memory.
// Until the limiter itself goes through the database (issue 17, item 4), each node limits on its own
// counts: a per-node approximation, seeded from the shared table when the node starts.
import type pg from 'pg'
import type { BucketRow, BucketState, RateBucketStore } from '../rate-buckets.ts'
import { run, transaction } from './db.ts'

export interface PostgresRateBucketStore extends RateBucketStore {
  /** Resolves once every write queued so far has been attempted. */
  settled(): Promise<void>
}

export async function createRateBucketStore(pool: pg.Pool): Promise<PostgresRateBucketStore> {
  const key = (rule: string, subject: string) => rule + '\u0000' + subject
  const rows = await run<{ rule: string; subject: string; tokens: number; updated_at: number }>(pool, 'SELECT rule, subject, tokens, updated_at FROM rate_buckets')
  const known = new Map<string, BucketState>(rows.rows.map((r) => [key(r.rule, r.subject), { tokens: r.tokens, updatedAt: r.updated_at }]))
  let queue: Promise<void> = Promise.resolve()
  let failure: unknown
  const behind = (work: () => Promise<unknown>) => {
    queue = queue.then(work).then(
      () => undefined,
      (error: unknown) => void (failure = error),
    )
  }
  const rethrow = () => {
    if (failure === undefined) return
    const error = failure
    failure = undefined
    throw error
  }
  return {
    load: (rule, subject) => known.get(key(rule, subject)),
    write(save: BucketRow[], remove: BucketRow[]) {
      for (const row of save) known.set(key(row.rule, row.subject), { tokens: row.tokens, updatedAt: row.updatedAt })
      for (const row of remove) known.delete(key(row.rule, row.subject))
      behind(() =>
        transaction(pool, async (db) => {
          if (save.length > 0) {
            await db.query(
              `INSERT INTO rate_buckets (rule, subject, tokens, updated_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::bigint[])
               ON CONFLICT (rule, subject) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
              [save.map((r) => r.rule), save.map((r) => r.subject), save.map((r) => r.tokens), save.map((r) => r.updatedAt)],
            )
          }
          if (remove.length > 0) {
            await db.query('DELETE FROM rate_buckets WHERE (rule, subject) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
              remove.map((r) => r.rule),
              remove.map((r) => r.subject),
            ])
          }
        }),
      )
      rethrow()
    },
    deleteRefilled(rule, capacity, refillPerSecond, now) {
      for (const [k, state] of known) {
        if (k.startsWith(rule + '\u0000') && state.tokens + ((now - state.updatedAt) * refillPerSecond) / 1000 >= capacity) known.delete(k)
      }
      behind(() =>
        run(pool, "DELETE FROM rate_buckets WHERE rule = $1 AND tokens + ($2::float8 - updated_at) * $3::float8 / 1000.0 >= $4::float8", [rule, now, refillPerSecond, capacity]),
      )
      rethrow()
    },
    settled: () => queue,
  }
}
