// Transport guarantees (contract §1–2): ordering, close codes, origin allow-list, HTTP endpoints, queue bound.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'
import { connect } from '../support/client.ts'

const test = suite<{ t: TestServer }>('transport')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ server: { allowedOrigins: ['https://app.example.com'] }, limits: { maxMessageBytes: 4096, maxQueuedPerConnection: 128 } })
})
test.after(async (ctx) => ctx.t.close())

test('100 pipelined pings are answered in order', async ({ t }) => {
  const c = await t.connect()
  const ids = Array.from({ length: 100 }, (_, i) => `p${i}`)
  for (const id of ids) c.sendRaw(JSON.stringify({ id, type: 'server:ping', to: 'localhost', payload: {} }))
  const got: string[] = []
  for (let i = 0; i < ids.length; i++) got.push((await c.nextReply()).id)
  assert.equal(got, ids)
})

test('a binary frame closes with 1003', async ({ t }) => {
  const c = await t.connect()
  c.sendRaw(Buffer.from('{"id":"1"}'), { binary: true })
  assert.is((await c.closed).code, 1003)
})

test('a frame over limits.maxMessageBytes closes with 1009; one at the limit is answered', async ({ t }) => {
  const c = await t.connect()
  const envelope = (pad: number) => JSON.stringify({ id: 'big', type: 'server:ping', to: 'localhost', payload: { pad: 'x'.repeat(pad) } })
  const exact = envelope(4096 - envelope(0).length)
  assert.is(Buffer.byteLength(exact), 4096)
  c.sendRaw(exact)
  assert.is((await c.nextReply()).payload.errID, 'invalid_payload')
  c.sendRaw(envelope(4097 - envelope(0).length))
  assert.is((await c.closed).code, 1009)
})

test('Origin allow-list: exact match or no Origin passes, anything else gets 403', async ({ t }) => {
  assert.ok(await t.connect({ origin: 'https://app.example.com' }))
  assert.ok(await t.connect())
  for (const origin of ['https://app.example.com.evil.com', 'http://app.example.com', 'null', 'https://evil.example']) {
    const refused = await connect(t.url, { origin }).then(() => 0, (e: { status?: number }) => e.status)
    assert.is(refused, 403, origin)
  }
})

test('upgrade on another path is refused with 404', async ({ t }) => {
  const status = await connect(t.url + 'elsewhere').then(() => 0, (e: { status?: number }) => e.status)
  assert.is(status, 404)
})

test('GET /healthz and /metrics', async ({ t }) => {
  const base = t.url.replace('ws://', 'http://')
  const health = await fetch(base + 'healthz')
  assert.is(health.status, 200)
  assert.equal(await health.json(), { status: 'ok' })
  const c = await t.connect()
  await c.request('server:ping')
  await c.request('nope:nope')
  const text = await (await fetch(base + 'metrics')).text()
  assert.match(text, /hafnium_connections_open [1-9]/)
  assert.match(text, /hafnium_messages_total\{type="server:ping",outcome="ok"\} [1-9]/)
  assert.match(text, /hafnium_messages_total\{type="unknown",outcome="unhandled"\} 1/)
  assert.match(text, /hafnium_handler_duration_seconds_bucket\{le="0.001",type="server:ping"\}/)
  assert.match(text, /# TYPE hafnium_ratelimit_rejections_total counter/)
  assert.is((await fetch(base + 'nowhere')).status, 404)
  assert.is((await fetch(base + 'healthz', { method: 'POST' })).status, 405)
})

test('more than maxQueuedPerConnection unanswered requests: the excess gets ratelimit_exceed', async () => {
  // A login with real argon2 cost keeps the queue busy while the pings arrive: an unknown name costs one
  // argon2 evaluation too (the dummy hash), so the server needs no account.
  const t2 = await startTestServer({ limits: { maxQueuedPerConnection: 3 }, password: { argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 } } })
  const c2 = await t2.connect()
  c2.sendRaw(JSON.stringify({ id: 'login', type: 'profile:login', to: 'localhost', payload: { username: 'nobody', password: 'x' } }))
  for (let i = 0; i < 4; i++) c2.sendRaw(JSON.stringify({ id: `q${i}`, type: 'server:ping', to: 'localhost', payload: {} }))
  const replies = []
  for (let i = 0; i < 5; i++) replies.push(await c2.nextReply())
  assert.equal(replies.map((r) => r.id), ['login', 'q0', 'q1', 'q2', 'q3'], 'replies stay in request order')
  const refused = replies.filter((r) => r.payload.errID === 'ratelimit_exceed')
  assert.equal(refused.map((r) => r.id), ['q2', 'q3'])
  assert.ok(refused.every((r) => Number.isInteger(r.payload.errPayload.retryAfter)))
  assert.equal(replies.filter((r) => r.ok).map((r) => r.id), ['q0', 'q1'])
  // Twice the bound unanswered is a flood: the connection is closed (1008).
  c2.sendRaw(JSON.stringify({ id: 'login2', type: 'profile:login', to: 'localhost', payload: { username: 'nobody', password: 'x' } }))
  for (let i = 0; i < 10; i++) c2.sendRaw(JSON.stringify({ id: `f${i}`, type: 'server:ping', to: 'localhost', payload: {} }))
  assert.is((await c2.closed).code, 1008)
  await t2.close()
})

test.run()
