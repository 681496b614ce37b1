// Which store engine the tests run on: HAFNIUM_TEST_ENGINE=postgres|sqlite (default sqlite); with
// postgres, HAFNIUM_TEST_POSTGRES_URL is a server URL (scripts/pg-test-cluster.sh starts a throwaway
// one) and each test server gets a fresh, empty database of its own, dropped at close. "Database" here
// is a schema in the URL's database, reached through search_path: the store sees nothing else, and a
// schema is created and dropped in milliseconds where CREATE/DROP DATABASE take ~0.9 s each with fsync
// on (measured on the 2-core CI machine) — a second per test server, over a thousand of them.
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { Test } from 'uvu'

const engine = process.env.HAFNIUM_TEST_ENGINE ?? 'sqlite'
if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`HAFNIUM_TEST_ENGINE must be sqlite or postgres, not ${engine}`)
export const testEngine: 'sqlite' | 'postgres' = engine

export interface TestDatabase {
  url: string
  drop(): Promise<void>
}

function adminURL(): string {
  const url = process.env.HAFNIUM_TEST_POSTGRES_URL
  if (!url) throw new Error('HAFNIUM_TEST_ENGINE=postgres needs HAFNIUM_TEST_POSTGRES_URL (scripts/pg-test-cluster.sh start prints one)')
  return url
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminURL() })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

function databaseURL(schema: string): string {
  const url = new URL(adminURL())
  url.searchParams.set('options', `-c search_path=${schema}`)
  return url.toString()
}

/**
 * A fresh, empty database. With `reuseKey` (a test's own data directory, reused by a restart) the same
 * key names the same database, so a server restarted on that directory finds its data again; such a
 * database is created once and left for the throwaway cluster to take away.
 */
export async function createTestDatabase(reuseKey?: string): Promise<TestDatabase> {
  const name = reuseKey
    ? 'hafnium_test_' + createHash('sha256').update(reuseKey).digest('hex').slice(0, 24)
    : 'hafnium_test_' + randomBytes(12).toString('hex')
  // IF NOT EXISTS: a restart on the same directory finds its schema.
  await admin(async (client) => void (await client.query(`CREATE SCHEMA ${reuseKey ? 'IF NOT EXISTS ' : ''}${name}`)))
  return {
    url: databaseURL(name),
    drop: reuseKey ? async () => {} : () => admin(async (client) => void (await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`))),
  }
}

/** Registers `name` as skipped (shown in the totals) when the suite runs on PostgreSQL: it tests the SQLite file itself. */
export function sqliteOnly<T>(test: Test<T>, name: string, body: Parameters<Test<T>>[1], reason = 'tests the SQLite file'): void {
  if (testEngine === 'postgres') test.skip(`${name} [skipped on postgres: ${reason}]`, body)
  else test(name, body)
}

/**
 * Rows a read-only query finds in a test server's database, whichever the engine: for tests that check
 * what is stored (hashes, not secrets). `sql` uses `?` placeholders and SQL both engines accept.
 */
export async function storedRows(config: { database: { path: string; url?: string } }, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  if (!config.database.url) {
    const { default: Database } = await import('../../src/store/driver.ts')
    const db = new Database(config.database.path, { readonly: true })
    try {
      return db.prepare(sql).all(...params) as Record<string, unknown>[]
    } finally {
      db.close()
    }
  }
  let n = 0
  // BIGINT (times, counts) as numbers, as the store reads them and as the SQLite driver gives them.
  const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) } as pg.CustomTypesConfig
  const client = new pg.Client({ connectionString: config.database.url, types })
  await client.connect()
  try {
    return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as Record<string, unknown>[]
  } finally {
    await client.end()
  }
}

/**
 * Everything the test server's database holds, as bytes to search for secrets: on SQLite the file and
 * its WAL; on PostgreSQL every value of every table (BYTEA raw, the rest as text).
 */
export async function storedBytes(config: { database: { path: string; url?: string } }): Promise<Buffer[]> {
  if (!config.database.url) {
    const { readFileSync } = await import('node:fs')
    return [config.database.path, `${config.database.path}-wal`].map((file) => {
      try {
        return readFileSync(file)
      } catch {
        return Buffer.alloc(0)
      }
    })
  }
  const client = new pg.Client({ connectionString: config.database.url })
  await client.connect()
  try {
    const tables = await client.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()')
    const chunks: Buffer[] = []
    for (const { name } of tables.rows) {
      for (const row of (await client.query(`SELECT * FROM ${name}`)).rows as Record<string, unknown>[]) {
        for (const value of Object.values(row)) chunks.push(Buffer.isBuffer(value) ? value : Buffer.from(String(value)))
      }
    }
    return [Buffer.concat(chunks)]
  } finally {
    await client.end()
  }
}

const clusterScript = fileURLToPath(new URL('../../scripts/pg-test-cluster.sh', import.meta.url))

/** Why a test that needs PostgreSQL cannot run here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (process.env.HAFNIUM_TEST_POSTGRES_URL) return undefined
  const check = spawnSync('bash', [clusterScript, 'check'], { encoding: 'utf8' })
  return check.status === 0 ? undefined : check.stderr.trim() + ', and HAFNIUM_TEST_POSTGRES_URL is not set'
}

export interface TestPostgres {
  url: string
  /** Stops a cluster startTestPostgres started (a given URL is left alone). */
  stop(): Promise<void>
}

/**
 * A PostgreSQL server for tests that need one whatever the engine (several stores or buses on one
 * server): HAFNIUM_TEST_POSTGRES_URL when set, else a throwaway cluster of scripts/pg-test-cluster.sh
 * that `stop()` shuts down and deletes.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const given = process.env.HAFNIUM_TEST_POSTGRES_URL
  if (given) return { url: given, stop: async () => {} }
  // pg_ctl -w returns once the server accepts connections (bounded by its -t 60).
  const start = spawnSync('bash', [clusterScript, 'start'], { encoding: 'utf8', timeout: 120_000 })
  if (start.status !== 0) throw new Error(`scripts/pg-test-cluster.sh start failed (${start.status ?? start.signal}): ${start.stderr}`)
  const value = (name: string) => {
    const prefix = `export ${name}=`
    const line = start.stdout.split('\n').find((l) => l.startsWith(prefix))
    if (!line) throw new Error(`scripts/pg-test-cluster.sh start printed no ${name}: ${start.stdout}`)
    return line.slice(prefix.length)
  }
  const url = value('HAFNIUM_TEST_POSTGRES_URL')
  const dir = value('HAFNIUM_PG_DIR')
  return { url, stop: async () => void spawnSync('bash', [clusterScript, 'stop', dir], { timeout: 60_000 }) }
}
