// How the PostgreSQL store fails: serialization failures and deadlocks are retried, then answered as
// StorageUnavailable (storage_busy), like connection loss; typed conflicts and other errors pass through.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isRetryableStorageError, StorageUnavailable } from '../../src/store/errors.ts'
import { createServer, connect as tcpConnect, type Socket } from 'node:net'
import pg from 'pg'
import { createPool, run, transaction } from '../../src/store/postgres/db.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { createTestDatabase, testEngine, type TestDatabase } from '../support/engine.ts'
import { startTestServer } from '../support/server.ts'
import { within } from '../support/within.ts'

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

  test('a statement still running at statementTimeoutMs is cancelled: StorageUnavailable (storage_busy), and the pool serves the next one', async ({ db }) => {
    const pool = createPool(db.url, 1, 300)
    try {
      const started = performance.now()
      const error = await within(run(pool, 'SELECT pg_sleep(5)').catch((e: unknown) => e), 15_000, 'the sleeping statement to end')
      const ms = performance.now() - started
      assert.instance(error, StorageUnavailable)
      assert.ok(ms < 3_000, `cancelled after ${ms.toFixed(0)} ms`)
      assert.is((await run<{ n: number }>(pool, 'SELECT 1 AS n')).rows[0]!.n, 1)
    } finally {
      await pool.end()
    }
  })

  test('a database that goes silent mid-query: the driver gives up 2 s after statementTimeoutMs, StorageUnavailable', async ({ db }) => {
    const relay = await startStallingRelay(new URL(db.url))
    const url = new URL(db.url)
    url.host = `127.0.0.1:${relay.port}`
    const pool = createPool(url.toString(), 1, 200)
    try {
      assert.is((await run<{ n: number }>(pool, 'SELECT 1 AS n')).rows[0]!.n, 1)
      relay.stall()
      const started = performance.now()
      const error = await within(run(pool, 'SELECT 2 AS n').catch((e: unknown) => e), 15_000, 'the driver to give up on the silent database')
      const ms = performance.now() - started
      assert.instance(error, StorageUnavailable)
      assert.match((error as Error).message, /Query read timeout/)
      assert.ok(ms >= 2_000 && ms < 10_000, `gave up after ${ms.toFixed(0)} ms`)
    } finally {
      relay.close() // first: a connection still waiting on the silent relay would hold pool.end() forever
      await within(pool.end(), 10_000, 'the pool to close').catch(() => {})
    }
  })

  test('a request whose table another session holds locked answers storage_busy after statementTimeoutMs, not never; then it works', async () => {
    const t = await startTestServer({ database: { statementTimeoutMs: 400 } })
    const admin = new pg.Client({ connectionString: t.config.database.url! })
    await admin.connect()
    try {
      const client = await t.connect()
      await admin.query('BEGIN')
      await admin.query('LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE')
      const started = performance.now()
      const reply = await client.request('profile:register', { username: 'stuck', password: 'balcony-scene-2', loginOnSuccess: false }, {}, { timeoutMs: 10_000 })
      const ms = performance.now() - started
      assert.is(reply.payload.errID, 'storage_busy', JSON.stringify(reply))
      assert.ok(ms < 5_000, `answered after ${ms.toFixed(0)} ms`)
      await admin.query('ROLLBACK')
      const again = await client.request('profile:register', { username: 'stuck', password: 'balcony-scene-2', loginOnSuccess: false })
      assert.ok(again.ok, JSON.stringify(again))
    } finally {
      await admin.query('ROLLBACK').catch(() => {})
      await admin.end()
      await t.close()
    }
  })
} else {
  test.skip('PostgreSQL store errors [run under HAFNIUM_TEST_ENGINE=postgres]', () => {})
}

/** A TCP relay to PostgreSQL that, once stalled, stops passing the database's bytes back: a silent network. */
async function startStallingRelay(target: URL) {
  let stalled = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port), target.hostname)
    sockets.add(client).add(upstream)
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => void (stalled || client.write(chunk)))
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    stall: () => void (stalled = true),
    close() {
      for (const socket of sockets) socket.destroy()
      server.close()
    },
  }
}

test.run()
