// The PostgreSQL connection pool, one-transaction helper, and the mapping of its failures to the
// store's own errors (typed conflicts, or the retryable storage error the router answers storage_busy).
import pg from 'pg'
import { StorageUnavailable } from '../errors.ts'

/** A client inside a transaction, or the pool itself for single statements. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>
}

// BIGINT (20) holds millisecond times and count(*): exact in a double up to 2^53, as in SQLite's driver.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format)
  },
} as pg.CustomTypesConfig

/** Connections opened at start and kept while idle: the first requests do not each wait for a backend to fork. */
export const warmConnections = (size: number) => Math.min(size, 4)

/** database.statementTimeoutMs unless configured. */
export const defaultStatementTimeoutMs = 5000

/**
 * `statementTimeoutMs` bounds every statement of the pool: the server cancels one still running after it
 * (statement_timeout: a slow query, a lock held elsewhere) and the driver gives up on one whose answer has
 * not arrived 2 s later (query_timeout: a database or network that went silent). Either way the request
 * answers storage_busy instead of hanging; a connection given up on is destroyed, not reused.
 */
export function createPool(url: string, size: number, statementTimeoutMs = defaultStatementTimeoutMs): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: size,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 2000,
    min: warmConnections(size),
    types,
    // A database that does not answer within this fails the request with storage_busy, not a hang.
    connectionTimeoutMillis: 5000,
    // TCP keepalive: a connection half-open after a failover is noticed instead of holding its pool slot
    // for the kernel's retransmission timeout (minutes).
    keepAlive: true,
    idleTimeoutMillis: 30_000,
    application_name: 'hafnium',
  })
  // An idle client whose connection dies (database restart) emits here; the pool replaces it.
  pool.on('error', () => {})
  return pool
}

// Statements with parameters run as named prepared statements: PostgreSQL parses and plans each text
// once per connection instead of on every call (the account look-up: 218 → 73 µs of PostgreSQL CPU and
// 74 → 60 µs of this process's, measured with bench/postgres.ts's cluster on the 2-core machine). The
// store's texts are fixed; past maxNamed distinct texts (SQL built at run time) the rest run unnamed,
// so no connection accumulates prepared statements without bound.
const statementNames = new Map<string, string>()
const maxNamed = 1000

export function prepared(text: string, values?: unknown[]): pg.QueryConfig | string {
  if (!values) return text // the simple protocol: BEGIN, COMMIT, DDL
  let name = statementNames.get(text)
  if (name === undefined) {
    if (statementNames.size >= maxNamed) return { text, values }
    name = `hafnium_${statementNames.size}`
    statementNames.set(text, name)
  }
  return { name, text, values }
}

/** A pool client whose parameterised statements are prepared (see `prepared`). */
const preparing = (client: pg.PoolClient): Queryable => ({
  query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => client.query<R>(prepared(text, values) as pg.QueryConfig),
})

export type Isolation = 'read committed' | 'repeatable read' | 'serializable'

// SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected: nothing was written, run it again.
// 57P01/57P02 (the server ended the session: restart, pg_terminate_backend): the statement's transaction
// was aborted, so a retry on another connection is safe; it is how a pool full of connections a database
// restart killed empties itself without failing a request per dead connection.
const retriedCodes = new Set(['40001', '40P01', '57P01', '57P02'])
const maxAttempts = 5

/**
 * Runs `work` in one transaction (READ COMMITTED unless told: the store's ops take the row locks they
 * need, SELECT … FOR UPDATE, rather than rely on a snapshot). A serialization failure or deadlock is
 * retried a few times with jitter; past that, and on any connection failure, the caller gets
 * StorageUnavailable (storage_busy). A StoreConflict thrown by `work` rolls everything back and passes through.
 */
export async function transaction<T>(pool: pg.Pool, work: (client: Queryable) => Promise<T>, isolation: Isolation = 'read committed'): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await connect(pool)
    let broken: unknown
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}`)
      const result = await work(preparing(client))
      await client.query('COMMIT')
      return result
    } catch (error) {
      try {
        await client.query('ROLLBACK')
      } catch (rollbackError) {
        broken = rollbackError
      }
      const code = (error as { code?: string }).code
      if (code && retriedCodes.has(code) && attempt < maxAttempts) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt))
        continue
      }
      throw storageError(error)
    } finally {
      // A client whose connection broke is destroyed, not handed to the next request.
      client.release(broken instanceof Error ? broken : undefined)
    }
  }
}

/** One statement outside a transaction, with the same retries and error mapping. */
export async function run<R extends pg.QueryResultRow = pg.QueryResultRow>(pool: pg.Pool, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.query<R>(prepared(text, values) as pg.QueryConfig)
    } catch (error) {
      const code = (error as { code?: string }).code
      if (code && retriedCodes.has(code) && attempt < maxAttempts) continue
      throw storageError(error)
    }
  }
}

/** The pool as a Queryable whose every statement runs alone through run(): code written for a transaction's client, used outside one. */
export const autocommit = (pool: pg.Pool): Queryable => ({ query: (text, values) => run(pool, text, values) })

/** Opens the warm connections (see warmConnections) and hands them back to the pool. */
export async function warm(pool: pg.Pool, size: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: warmConnections(size) }, () => pool.connect()))
  for (const client of clients) client.release()
}

async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect()
  } catch (error) {
    throw new StorageUnavailable('cannot connect to PostgreSQL', { cause: error })
  }
}

/**
 * SQLSTATE classes after which the database is intact and a retry may succeed: 08 connection exception,
 * 40 transaction rollback (after our retries), 53 insufficient resources (too many clients, disk full),
 * 57P admin shutdown / cannot connect now, 57014 a statement cancelled at statementTimeoutMs; and the
 * socket errors of a lost connection, or the driver's own timeout.
 */
function storageError(error: unknown): unknown {
  if (error instanceof StorageUnavailable) return error
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : ''
  // 57014 query_canceled: statement_timeout (or an operator's pg_cancel_backend); "Query read timeout": query_timeout.
  const lost =
    (typeof code === 'string' && (/^(08|40|53|57P)/.test(code) || ['57014', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code))) ||
    /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Query read timeout/.test(message)
  return lost ? new StorageUnavailable(`PostgreSQL: ${message || code}`, { cause: error }) : error
}

/** SQLSTATE 23505 unique_violation, with the constraint it hit. */
export function uniqueViolation(error: unknown): string | undefined {
  const e = error as { code?: string; constraint?: string } | null
  return e?.code === '23505' ? (e.constraint ?? '') : undefined
}

/** A row of `SELECT … FOR UPDATE` on the account: every op that reads then writes an account takes it first. */
export async function lockAccount<R extends pg.QueryResultRow>(client: Queryable, accountID: string, columns = 'id'): Promise<R | undefined> {
  return (await client.query<R>(`SELECT ${columns} FROM accounts WHERE id = $1 FOR UPDATE`, [accountID])).rows[0]
}

export async function deviceExists(client: Queryable, accountID: string, deviceID: string): Promise<boolean> {
  // FOR SHARE: a concurrent revocation of the device waits for this transaction (or this one sees it gone).
  return (await client.query('SELECT 1 FROM devices WHERE account_id = $1 AND id = $2 FOR SHARE', [accountID, deviceID])).rowCount === 1
}
