// The limiter's memory is keyed by client input (login names): a flood of distinct names stays under
// ratelimit.maxBuckets, and pushing buckets out of memory never refills one (issue 11 item 11).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer } from '../support/server.ts'
import { httpGet } from '../support/http.ts'
import { register } from '../support/accounts.ts'
import { testEngine } from '../support/engine.ts'

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)

test('500 logins with distinct unknown names: at most maxBuckets in memory, and a drained account stays drained', async () => {
  const t = await startTestServer({
    ratelimit: {
      enabled: true,
      maxBuckets: 100,
      rules: {
        messages: { subject: 'connection', types: ['*'], capacity: 100_000, refillPerSecond: 1 },
        login_ip: { subject: 'ip', types: ['profile:login'], capacity: 100_000, refillPerSecond: 1 },
        login_account: { subject: 'account', capacity: 5, refillPerSecond: 0.0001 },
      } as never,
    },
    // Only the bucket refuses here, not the per-account backoff.
    sessions: { loginBackoff: { freeFailures: 100_000 } },
  })
  try {
    const c = await t.connect()
    await register(c, { username: 'victim', password: 'lantern-orchard-77' })
    const guess = () => c.request('profile:login', { username: 'victim', password: 'wrong-guess-000' }).then((r) => r.payload.errID)
    for (let i = 0; i < 5; i++) assert.is(await guess(), 'invalid_creds')
    assert.is(await guess(), 'ratelimit_exceed', 'the victim account bucket is drained')

    const metricsUrl = t.url.replace('ws://', 'http://') + 'metrics'
    let peak = 0
    for (let sent = 0; sent < 500; sent += 25) {
      const replies = []
      for (let i = sent; i < sent + 25; i++) replies.push(c.request('profile:login', { username: `flood-${i}`, password: 'wrong-guess-000' }))
      for (const reply of await Promise.all(replies)) assert.is(reply.payload.errID, 'invalid_creds')
      peak = Math.max(peak, metric((await httpGet(metricsUrl)).body, 'hafnium_ratelimit_buckets'))
    }
    const text = (await httpGet(metricsUrl)).body
    if (testEngine === 'postgres') {
      // login_account is taken in the shared database there: its buckets never enter memory at all.
      assert.ok(peak <= 3, `buckets in memory peaked at ${peak} (only the connection's and the address's)`)
      assert.is(metric(text, 'hafnium_ratelimit_evictions_total'), 0)
    } else {
      assert.ok(peak <= 101, `buckets in memory peaked at ${peak}`)
      assert.ok(metric(text, 'hafnium_ratelimit_evictions_total') >= 400, `evictions ${metric(text, 'hafnium_ratelimit_evictions_total')}`)
      assert.ok(metric(text, 'hafnium_ratelimit_bucket_bytes') < 100 * 400, 'bytes follow')
    }
    assert.is(await guess(), 'ratelimit_exceed', 'after the flood the victim account is still drained')
  } finally {
    await t.close()
  }
})

test.run()
