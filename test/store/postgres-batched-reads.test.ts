// profile:auth on PostgreSQL reads the tokens presented in one event-loop turn with one statement
// (src/store/postgres/batched-read.ts): over real sockets, each caller still gets its own device, a token
// revoked a moment before is refused inside a batch of good ones, and a batch the database fails answers
// each of its callers storage_busy while the next batch works.
import pg from 'pg'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { register } from '../support/accounts.ts'
import type { TestClient } from '../support/client.ts'
import { testEngine } from '../support/engine.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { within } from '../support/within.ts'

const test = suite<{ t: TestServer; devices: { client: TestClient; authToken: string; deviceID: string; userID: string }[] }>('PostgreSQL batched reads')
const N = 24

/** Every device presents its token on a fresh socket, all sent before any answer is read. */
async function authAll(t: TestServer, tokens: string[], timeoutMs?: number) {
  const sockets = await Promise.all(tokens.map(() => t.connect()))
  try {
    return await within(
      Promise.all(sockets.map((c, i) => c.request('profile:auth', { authToken: tokens[i] }, {}, timeoutMs ? { timeoutMs } : undefined))),
      30_000,
      `${tokens.length} profile:auth replies`,
    )
  } finally {
    for (const c of sockets) c.close()
  }
}

if (testEngine === 'postgres') {
  test.before(async (ctx) => {
    // statementTimeoutMs 1500: the locked-table test below reads pg_stat_activity while its batch waits.
    ctx.t = await startTestServer({ database: { statementTimeoutMs: 1500 } })
    ctx.devices = []
    for (let i = 0; i < N; i++) {
      const client = await ctx.t.connect()
      const reply = await register(client, { username: `batch${i}`, password: 'a-fine-password', loginOnSuccess: true })
      ctx.devices.push({ client, ...reply.payload.loginPayload })
    }
  })
  test.after(async ({ t }) => t.close())

  test('many tokens presented at once: each socket is authenticated as its own device', async ({ t, devices }) => {
    const replies = await authAll(t, devices.map((d) => d.authToken))
    replies.forEach((reply, i) => {
      assert.ok(reply.ok, JSON.stringify(reply))
      assert.equal(reply.payload, { userID: devices[i]!.userID, deviceID: devices[i]!.deviceID }, `socket ${i}`)
      assert.is(reply.to, devices[i]!.userID)
    })
  })

  test('a token revoked just before is refused inside a batch of good ones; the others pass', async ({ t, devices }) => {
    const gone = devices[7]!
    assert.ok((await gone.client.request('profile:logout')).ok)
    const replies = await authAll(t, devices.map((d) => d.authToken))
    replies.forEach((reply, i) => {
      if (i === 7) assert.equal(reply.payload, { errID: 'invalid_token', errText: errors.invalid_token })
      else assert.equal(reply.payload, { userID: devices[i]!.userID, deviceID: devices[i]!.deviceID }, `socket ${i}`)
    })
  })

  test('a batch the database fails (table locked past statementTimeoutMs) answers each caller storage_busy; the next batch works', async ({ t, devices }) => {
    const live = devices.filter((_, i) => i !== 7)
    const admin = new pg.Client({ connectionString: t.config.database.url! })
    await admin.connect()
    const watcher = new pg.Client({ connectionString: t.config.database.url! })
    await watcher.connect()
    try {
      await admin.query('BEGIN')
      await admin.query('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE')
      const pending = authAll(t, live.map((d) => d.authToken), 10_000)
      // While the lock holds, the burst waits as a batch or two, not one statement per request (the pool
      // would have let up to database.poolSize = 10 of them wait side by side).
      await new Promise((resolve) => setTimeout(resolve, 700))
      const waiting = (
        await watcher.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'hafnium' AND wait_event_type = 'Lock' AND query LIKE '%token_hash = ANY%'",
        )
      ).rows[0].n as number
      assert.ok(waiting >= 1 && waiting <= 3, `${live.length} presentations wait as ${waiting} statements`)
      const replies = await pending
      for (const reply of replies) assert.is(reply.payload.errID, 'storage_busy', JSON.stringify(reply))
      await admin.query('ROLLBACK')
      const again = await authAll(t, live.map((d) => d.authToken))
      again.forEach((reply, i) => assert.equal(reply.payload, { userID: live[i]!.userID, deviceID: live[i]!.deviceID }, `socket ${i}`))
    } finally {
      await admin.query('ROLLBACK').catch(() => {})
      await admin.end()
      await watcher.end()
    }
  })
} else {
  test.skip('PostgreSQL batched reads [run under HAFNIUM_TEST_ENGINE=postgres]', () => {})
}

test.run()
