// What the PostgreSQL store's hot paths cost the database: parameterised statements are prepared once per
// connection, and presenting the current token without rotation neither locks nor commits anything.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hashToken } from '../../src/auth/tokens.ts'
import { createPool, run, transaction } from '../../src/store/postgres/db.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { createTestDatabase, testEngine, type TestDatabase } from '../support/engine.ts'
import { startTestServer } from '../support/server.ts'

const test = suite<{ db: TestDatabase }>('PostgreSQL store statements')
const now = Date.UTC(2026, 0, 1)

/** `work`, or a failure naming what did not finish within `ms`. */
const within = <T>(ms: number, what: string, work: Promise<T>) =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms).unref())])

if (testEngine === 'postgres') {
  test.before(async (ctx) => {
    ctx.db = await createTestDatabase()
  })
  test.after(async ({ db }) => db.drop())

  test('a statement with parameters is prepared on its connection, in and out of transactions', async ({ db }) => {
    const pool = createPool(db.url, 1) // one connection: the catalogue query sees the same session
    try {
      await run(pool, 'SELECT $1::int + 1 AS n', [1])
      assert.is((await run<{ n: number }>(pool, 'SELECT $1::int + 1 AS n', [2])).rows[0]!.n, 3)
      await transaction(pool, (client) => client.query('SELECT $1::int * 2 AS n', [3]))
      const prepared = (await run<{ statement: string }>(pool, 'SELECT statement FROM pg_prepared_statements')).rows.map((r) => r.statement)
      assert.ok(prepared.includes('SELECT $1::int + 1 AS n'), `prepared: ${JSON.stringify(prepared)}`)
      assert.ok(prepared.includes('SELECT $1::int * 2 AS n'), `prepared: ${JSON.stringify(prepared)}`)
    } finally {
      await pool.end()
    }
  })

  test('the current token without rotation is accepted while another transaction holds the device row', async ({ db }) => {
    const dir = mkdtempSync(join(tmpdir(), 'hafnium-store-'))
    const store = await openPostgresStore(db.url, { poolSize: 2, keyPath: join(dir, 'hafnium.db') })
    const locker = new pg.Client({ connectionString: db.url })
    await locker.connect()
    try {
      const account = await store.accounts.create({ id: 'acc-tybalt', username: 'tybalt', userID: '@tybalt:localhost', passwordHash: null, status: 'active', profile: {}, thirdPIDs: [], now })
      const current = hashToken('tybalt-token')
      const device = await store.devices.create({ accountID: account.id, tokenHash: current, name: 't', pushToken: null, ip: '127.0.0.1', now })
      await locker.query('BEGIN')
      await locker.query('SELECT id FROM devices WHERE id = $1 FOR UPDATE', [device.id])
      // Anything but the current token without rotation still takes the locking path: it waits.
      const other = store.devices.present(device.id, hashToken('other'), null, now, 30_000)
      // Before, present() always ran SELECT … FOR UPDATE in a transaction: it waited for this lock too.
      assert.is(await within(2000, 'present() of the current token beside a row lock', store.devices.present(device.id, current, null, now, 30_000)), 'ok')
      await locker.query('ROLLBACK')
      assert.is(await within(2000, 'present() of another token once the lock is released', other), 'gone')
      const next = hashToken('tybalt-next')
      assert.is(await store.devices.present(device.id, current, next, now, 30_000), 'ok', 'rotation still swaps under the lock')
      assert.is((await store.devices.byToken(next))?.slot, 'current')
    } finally {
      await locker.end()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
  test('a password login sends 3 statements: the account with its exact login_account charge (one CTE), the device insert with its re-checks and the backoff settled (one function call under the row lock) and device:new_login to the other nodes; its next request does not read the device back', async () => {
    const t = await startTestServer({ ratelimit: { enabled: true } })
    const query = pg.Client.prototype.query
    const sent: string[] = []
    try {
      const c = await t.connect()
      assert.ok((await c.request('profile:register', { username: 'rosaline', password: 'a-fine-password', loginOnSuccess: false })).ok)
      await new Promise((resolve) => setTimeout(resolve, 50)) // the register's own writes settle
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        const config = args[0] as string | { text: string }
        sent.push(typeof config === 'string' ? config : config.text)
        return (query as (...a: unknown[]) => unknown).apply(this, args)
      } as typeof query
      const reply = await c.request('profile:login', { username: 'rosaline', password: 'a-fine-password' })
      pg.Client.prototype.query = query
      assert.ok(reply.ok, JSON.stringify(reply))
      // Not before: counting devices before the insert counts them again under the account's lock. The
      // backoff is settled after argon2 even when the read showed no failures (a concurrent failure's block
      // may have landed since), inside the insert (hafnium_insert_device, migrations/postgres/005). Was 9
      // statements: settle, BEGIN, lock, count, INSERT, COMMIT each a round trip; then 4, the account read
      // and its charge apart (store/postgres/login-lookup.ts).
      const ofLogin = sent.filter((text) => !/rate_buckets \(rule, subject, tokens, updated_at\)\s+SELECT \* FROM unnest|UPDATE devices d SET last_seen_at|UPDATE outbox/.test(text))
      assert.is(ofLogin.length, 3, ofLogin.map((text) => text.replace(/\s+/g, ' ').slice(0, 90)).join('\n'))
      // The login made the device: the per-request device check (cluster/session-check.ts) need not read
      // it back on the next request (it did, one SELECT, before sessions carried knownAliveAt).
      sent.length = 0
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        const config = args[0] as string | { text: string }
        sent.push(typeof config === 'string' ? config : config.text)
        return (query as (...a: unknown[]) => unknown).apply(this, args)
      } as typeof query
      assert.ok((await c.request('profile:get', {})).ok)
      pg.Client.prototype.query = query
      const deviceReads = sent.filter((text) => /FROM devices WHERE account_id = \$1 AND id = \$2/.test(text))
      assert.is(deviceReads.length, 0, sent.map((text) => text.replace(/\s+/g, ' ').slice(0, 90)).join('\n'))
    } finally {
      pg.Client.prototype.query = query
      await t.close()
    }
  })
} else {
  test.skip('[skipped on sqlite: tests the PostgreSQL store]', () => {})
}

test.run()
