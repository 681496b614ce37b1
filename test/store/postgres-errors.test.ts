// How the PostgreSQL store fails: serialization failures and deadlocks are retried, then answered as
// StorageUnavailable (storage_busy), like connection loss; typed conflicts and other errors pass through.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isRetryableStorageError, StorageUnavailable } from '../../src/store/errors.ts'
import { createPool, transaction } from '../../src/store/postgres/db.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { createTestDatabase, testEngine, type TestDatabase } from '../support/engine.ts'

const test = suite<{ db: TestDatabase }>('PostgreSQL store errors')

const pgError = (code: string) => Object.assign(new Error(`synthetic ${code}`), { code })

if (testEngine === 'postgres') {
  test.before(async (ctx) => {
    ctx.db = await createTestDatabase()
  })
  test.after(async ({ db }) => db.drop())

  test('a serialization failure is retried; after 5 tries it is StorageUnavailable (retryable), rolled back each time', async ({ db }) => {
    const pool = createPool(db.url, 2)
    try {
      await pool.query('CREATE TABLE IF NOT EXISTS probe (n INTEGER)')
      let tries = 0
      const result = await transaction(pool, async (client) => {
        await client.query('INSERT INTO probe VALUES (1)')
        if (++tries < 3) throw pgError('40001')
        return 'done'
      })
      assert.is(result, 'done')
      assert.is(tries, 3)
      assert.is((await pool.query('SELECT count(*)::int AS n FROM probe')).rows[0].n, 1, 'the failed tries left nothing')

      tries = 0
      const failure = await transaction(pool, async () => {
        tries++
        throw pgError('40P01')
      }).catch((error: unknown) => error)
      assert.is(tries, 5)
      assert.instance(failure, StorageUnavailable)
      assert.ok(isRetryableStorageError(failure), 'answered storage_busy')
    } finally {
      await pool.end()
    }
  })

  test('too many clients and a lost connection are StorageUnavailable; a unique violation and a plain error pass through', async ({ db }) => {
    const pool = createPool(db.url, 2)
    try {
      for (const code of ['53300', '57P01', '08006', 'ECONNRESET']) {
        const error = await transaction(pool, async () => {
          throw pgError(code)
        }).catch((e: unknown) => e)
        assert.instance(error, StorageUnavailable, code)
      }
      for (const code of ['23505', '22P02']) {
        const error = await transaction(pool, async () => {
          throw pgError(code)
        }).catch((e: unknown) => e)
        assert.not.instance(error, StorageUnavailable, code)
        assert.not.ok(isRetryableStorageError(error), code)
      }
    } finally {
      await pool.end()
    }
  })

  test('a database that cannot be reached: the store does not open, and says why', async () => {
    const error = await openPostgresStore('postgres://nobody@127.0.0.1:1/nothing', { poolSize: 1, keyPath: '/nonexistent/hafnium.db' }).catch((e: unknown) => e)
    assert.instance(error, Error)
    assert.match((error as Error).message, /ECONNREFUSED|connect/)
  })

  test('connections killed under a running node (a database restart): the requests that meet them are retried, none fails', async ({ db }) => {
    const store = await openPostgresStore(db.url, { poolSize: 4, keyPath: '/tmp/hafnium-errors-test.db' })
    try {
      const admin = createPool(db.url, 1)
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hafnium' AND pid <> pg_backend_pid()")
      await admin.end()
      // Calls that meet a killed connection (57P01) are retried on another one: none fails.
      assert.equal(await Promise.all([0, 1, 2, 3, 4, 5].map(() => store.accounts.count())), [0, 0, 0, 0, 0, 0])
      assert.is(await store.accounts.count(), 0)
    } finally {
      await store.close()
    }
  })
} else {
  test.skip('PostgreSQL store errors [run under HAFNIUM_TEST_ENGINE=postgres]', () => {})
}

test.run()
