// Which store engine the tests run on: HAFNIUM_TEST_ENGINE=postgres|sqlite (default sqlite); with
// postgres, HAFNIUM_TEST_POSTGRES_URL is a server URL (any database on it; scripts/pg-test-cluster.sh
// starts a throwaway one) and each test server gets a fresh database of its own, dropped at close.
import { createHash, randomBytes } from 'node:crypto'
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

function databaseURL(name: string): string {
  const url = new URL(adminURL())
  url.pathname = '/' + name
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
  await admin(async (client) => {
    try {
      await client.query(`CREATE DATABASE ${name}`)
    } catch (error) {
      // 42P04 duplicate_database: a restart on the same directory.
      if (!reuseKey || (error as { code?: string }).code !== '42P04') throw error
    }
  })
  return {
    url: databaseURL(name),
    drop: reuseKey ? async () => {} : () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  }
}

/** Registers `name` as skipped (shown in the totals) when the suite runs on PostgreSQL: it tests the SQLite file itself. */
export function sqliteOnly<T>(test: Test<T>, name: string, body: Parameters<Test<T>>[1], reason = 'tests the SQLite file'): void {
  if (testEngine === 'postgres') test.skip(`${name} [skipped on postgres: ${reason}]`, body)
  else test(name, body)
}
