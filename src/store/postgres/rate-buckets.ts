// Rate-limit buckets on PostgreSQL. Two ways in: the in-memory limiter's rules (per node, approximate)
// are read once at start (so a restart does not refill a drained bucket) and written behind, in order;
// a failed write surfaces at the next flush (logged there) and the buckets stay in memory. The rules
// that guard secrets take their tokens here, in the database, one conditional upsert per bucket
// (takeShared): exact across every node sharing the database.
import type pg from 'pg'
import type { BucketRow, BucketState, RateBucketStore, SharedCharge, SharedTake } from '../rate-buckets.ts'
import { autocommit, run, transaction, type Queryable } from './db.ts'

/**
 * Takes the charge's cost from its bucket if it holds that many once refilled to `now`; no row is a full bucket.
 * The row lock of the upsert makes concurrent takes from any node queue, each seeing the one before.
 * Times are the nodes' clocks (the limiter's, as for every other rule), but updated_at never moves
 * back, so a node whose clock lags cannot refill the same interval twice. The placeholders are the
 * caller's (rule, subject, capacity, refillPerSecond, cost, now): the statement is also a CTE of a login's
 * account read (login-lookup.ts), whose subject is an expression.
 */
export const takeStatement = (rule: string, subject: string, capacity: string, refill: string, cost: string, now: string) => `
  INSERT INTO rate_buckets AS b (rule, subject, tokens, updated_at) VALUES (${rule}, ${subject}, ${capacity}::float8 - ${cost}::float8, ${now}::bigint)
  ON CONFLICT (rule, subject) DO UPDATE
    SET tokens = least(${capacity}::float8, b.tokens + greatest(0, ${now}::bigint - b.updated_at) * ${refill}::float8 / 1000.0) - ${cost}::float8,
        updated_at = greatest(b.updated_at, ${now}::bigint)
    WHERE least(${capacity}::float8, b.tokens + greatest(0, ${now}::bigint - b.updated_at) * ${refill}::float8 / 1000.0) >= ${cost}::float8
  RETURNING subject, tokens, updated_at`

const takeOne = takeStatement('$1', '$2', '$3', '$4', '$5', '$6')

type Row = { tokens: number; updated_at: number }

async function takeFrom(db: Queryable, charge: SharedCharge, now: number): Promise<BucketState | undefined> {
  const row = (await db.query<Row>(takeOne, [charge.rule, charge.subject, charge.capacity, charge.refillPerSecond, charge.cost, now])).rows[0]
  return row && { tokens: row.tokens, updatedAt: row.updated_at }
}

/** The buckets as they are (a missing row is a full bucket), for the wait of a refused take. */
export async function read(db: Queryable, charges: readonly SharedCharge[], now: number): Promise<BucketState[]> {
  const rows = await db.query<Row & { rule: string; subject: string }>(
    'SELECT rule, subject, tokens, updated_at FROM rate_buckets WHERE (rule, subject) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
    [charges.map((c) => c.rule), charges.map((c) => c.subject)],
  )
  return charges.map((c) => {
    const row = rows.rows.find((r) => r.rule === c.rule && r.subject === c.subject)
    return row ? { tokens: row.tokens, updatedAt: row.updated_at } : { tokens: c.capacity, updatedAt: now }
  })
}

/** All or none: one statement for one bucket; for several, one transaction, in key order (no deadlock between nodes). */
export async function takeShared(pool: pg.Pool, charges: readonly SharedCharge[], now: number): Promise<SharedTake> {
  if (charges.length === 1) {
    // run(): a lost connection answers storage_busy like every other store op.
    const db = autocommit(pool)
    const bucket = await takeFrom(db, charges[0]!, now)
    return bucket ? { taken: true, buckets: [bucket] } : { taken: false, buckets: await read(db, charges, now) }
  }
  const order = charges.map((_, i) => i).sort((a, b) => {
    const x = charges[a]!
    const y = charges[b]!
    return x.rule < y.rule ? -1 : x.rule > y.rule ? 1 : x.subject < y.subject ? -1 : x.subject > y.subject ? 1 : 0
  })
  return transaction(pool, async (db) => {
    await db.query('SAVEPOINT take')
    const buckets: BucketState[] = new Array(charges.length)
    for (const i of order) {
      const bucket = await takeFrom(db, charges[i]!, now)
      if (!bucket) {
        await db.query('ROLLBACK TO SAVEPOINT take')
        return { taken: false, buckets: await read(db, charges, now) }
      }
      buckets[i] = bucket
    }
    return { taken: true, buckets }
  })
}

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
    takeShared: (charges, now) => takeShared(pool, charges, now),
    settled: () => queue,
  }
}
