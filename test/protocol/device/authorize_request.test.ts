// device:authorize_request over real sockets: the codes' shape and storage, the switch, the per-IP rule.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hashToken } from '../../../src/auth/tokens.ts'
import { storedRows } from '../../support/engine.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'
import { requestAuthorization } from '../../support/device-authorization.ts'
import { requestOk } from '../../support/accounts.ts'
import { within } from '../../support/within.ts'

const test = suite<{ t: TestServer }>('device:authorize_request')
test.before(async (ctx) => {
  ctx.t = await startTestServer()
})
test.after(async (ctx) => ctx.t.close())

test('answers a XXXX-XXXX consonant user code, a 256-bit device code, ttl and interval', async ({ t }) => {
  const { reply, userCode, deviceCode } = await requestAuthorization(t, { deviceName: 'living-room TV' })
  assertValidReply('device:authorize_request', reply)
  assert.match(userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
  assert.match(deviceCode, /^[A-Za-z0-9_-]{43}$/)
  assert.is(reply.payload.expiresIn, 600)
  assert.is(reply.payload.interval, 5)
  assert.is(reply.to, undefined, 'the connection is still anonymous')
})

test('neither code is stored in the clear', async ({ t }) => {
  const { userCode, deviceCode } = await requestAuthorization(t)
  const rows = await storedRows(t.config, 'SELECT * FROM device_authorizations')
  const dump = JSON.stringify(rows.map((r) => Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : v))))
  for (const secret of [userCode, userCode.replace('-', ''), deviceCode]) assert.not.ok(dump.includes(secret), `${secret} stored`)
  assert.ok(dump.includes(hashToken(deviceCode).toString('hex')), 'the device code is kept as its SHA-256')
})

test('user codes are 8 random consonants: 200 requests, 200 distinct codes', async ({ t }) => {
  const c = await t.connect()
  const codes = new Set<string>()
  for (let i = 0; i < 200; i++) codes.add((await c.request('device:authorize_request', {})).payload.userCode)
  assert.is(codes.size, 200)
})

test('a waiting connection outlives server.authTimeoutMs; after a denial it gets the usual deadline', async () => {
  // A deadline the test picks, not the contract's: long enough for the phone to register (argon2 and, on
  // PostgreSQL, commits) on a loaded machine; 300 ms was not (the phone's socket was closed first).
  const authTimeoutMs = 1_500
  const t = await startTestServer({ server: { authTimeoutMs } })
  const closed = (client: { closed: Promise<{ code: number }> }, what: string) => within(client.closed, 15_000, what)
  try {
    // Signed in before the other sockets' deadlines start: only its own registration races its deadline.
    const phone = await t.connect()
    await requestOk(phone, 'profile:register', { username: 'juliet', password: 'balcony-scene-2', loginOnSuccess: true })
    const control = await t.connect()
    const tv = await requestAuthorization(t)
    const denied = await requestAuthorization(t)
    assert.equal((await closed(control, `the idle anonymous control socket to be closed after ${authTimeoutMs} ms`)).code, 1008, 'an idle anonymous socket is closed')
    await requestOk(phone, 'device:authorize_deny', { userCode: denied.userCode })
    assert.equal((await closed(denied.client, 'the denied socket to be closed after the usual deadline')).code, 1008, 'denied: closed after the usual deadline')
    // Both deadlines have passed for tv; still open, it is signed in live.
    await requestOk(phone, 'device:authorize_approve', { userCode: tv.userCode })
    assert.ok((await tv.client.nextEvent('device:authorized', { timeoutMs: 15_000 })).payload.authToken)
  } finally {
    // Also when it fails: an open server (on PostgreSQL its pool and LISTEN connection) held the run open.
    await t.close()
  }
})

test('invalid deviceName: invalid_payload', async ({ t }) => {
  const c = await t.connect()
  for (const payload of [{ deviceName: '' }, { deviceName: 'x'.repeat(129) }, { extra: 1 }]) {
    assert.is((await c.request('device:authorize_request', payload)).payload.errID, 'invalid_payload', JSON.stringify(payload))
  }
})

test('deviceAuthorization.enabled false: every device:authorize_* answers forbidden; server:info says so', async () => {
  const t = await startTestServer({ deviceAuthorization: { enabled: false } })
  const c = await t.connect()
  assert.is((await c.request('server:info')).payload.features.deviceAuthorization, false)
  assert.is((await c.request('device:authorize_request', {})).payload.errID, 'forbidden')
  assert.is((await c.request('device:authorize_poll', { deviceCode: 'A'.repeat(43) })).payload.errID, 'forbidden')
  await t.close()
})

test('server:info reports the feature on by default', async ({ t }) => {
  const c = await t.connect()
  const info = await c.request('server:info')
  assertValidReply('server:info', info)
  assert.equal(info.payload.features, { guests: false, tickets: false, deviceAuthorization: true, captcha: [], providers: [] })
})

test('device_request_ip: 10 requests, then ratelimit_exceed with retryAfter', async () => {
  const t = await startTestServer({ ratelimit: { enabled: true } })
  const c = await t.connect()
  for (let i = 0; i < 10; i++) assert.ok((await c.request('device:authorize_request', {})).ok, `request ${i + 1}`)
  const refused = await c.request('device:authorize_request', {})
  assert.is(refused.payload.errID, 'ratelimit_exceed')
  assert.ok(refused.payload.errPayload.retryAfter > 0)
  await t.close()
})

test.run()
