// device:authorize_poll over real sockets: pending, interval, approved once, denied, expired, unknown.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sweepExpired } from '../../../src/accounts/verification-signup.ts'
import { auth, login, register, requestOk, sudo } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'
import { requestAuthorization } from '../../support/device-authorization.ts'

const password = 'balcony-scene-2'
const clock = manualClock(Date.now())
const test = suite<{ t: TestServer }>('device:authorize_poll')

test.before(async (ctx) => {
  ctx.t = await startTestServer({}, { clock })
  await register(await ctx.t.connect(), { username: 'juliet', password })
})
test.after(async (ctx) => ctx.t.close())

const poll = (client: { request: (type: string, payload: object) => Promise<{ ok: boolean; payload: any }> }, deviceCode: string) =>
  client.request('device:authorize_poll', { deviceCode })

test('before approval authorization_pending; after it the session, once; then code_expired', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const tv = await requestAuthorization(t, { deviceName: 'TV' })
  tv.client.close() // the device lost its socket
  await tv.client.closed
  const other = await t.connect()
  assert.is((await poll(other, tv.deviceCode)).payload.errID, 'authorization_pending')
  me.client.events.length = 0
  const approved = await requestOk(me.client, 'device:authorize_approve', { userCode: tv.userCode })
  clock.advance(5000)
  const reply = await other.request('device:authorize_poll', { deviceCode: tv.deviceCode })
  assertValidReply('device:authorize_poll', reply)
  assert.equal(Object.keys(reply.payload).sort(), ['authToken', 'deviceID', 'userID'])
  assert.is(reply.payload.deviceID, approved.payload.deviceID)
  assert.is(reply.payload.userID, '@juliet@localhost')
  assert.is(reply.to, '@juliet@localhost', 'the polling connection is now that device')
  assert.equal((await me.client.nextEvent('device:new_login')).payload, { deviceID: approved.payload.deviceID, deviceName: 'TV', at: clock.now() })
  const again = await auth(t, reply.payload.authToken)
  assert.is((await requestOk(again, 'profile:get')).payload.userID, '@juliet@localhost')
  clock.advance(5000)
  const third = await t.connect()
  assert.is((await poll(third, tv.deviceCode)).payload.errID, 'code_expired', 'handed out once only')
})

test('a socket still waiting gets the event; a poll afterwards answers code_expired, not a second token', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const tv = await requestAuthorization(t)
  await requestOk(me.client, 'device:authorize_approve', { userCode: tv.userCode })
  await tv.client.nextEvent('device:authorized')
  clock.advance(5000)
  assert.is((await poll(await t.connect(), tv.deviceCode)).payload.errID, 'code_expired')
})

test('polling sooner than interval: ratelimit_exceed with the wait left, and that poll is not counted', async ({ t }) => {
  const tv = await requestAuthorization(t)
  assert.is((await poll(tv.client, tv.deviceCode)).payload.errID, 'authorization_pending')
  clock.advance(2000)
  const early = await poll(tv.client, tv.deviceCode)
  assert.equal([early.payload.errID, early.payload.errPayload], ['ratelimit_exceed', { retryAfter: 3000 }])
  clock.advance(2999)
  assert.is((await poll(tv.client, tv.deviceCode)).payload.errID, 'ratelimit_exceed')
  clock.advance(1)
  assert.is((await poll(tv.client, tv.deviceCode)).payload.errID, 'authorization_pending')
})

test('expired (injected clock) → code_expired, approved or not', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const pending = await requestAuthorization(t)
  const approved = await requestAuthorization(t)
  approved.client.close()
  await approved.client.closed
  await requestOk(me.client, 'device:authorize_approve', { userCode: approved.userCode })
  clock.advance(600_000)
  const c = await t.connect()
  assert.is((await poll(c, pending.deviceCode)).payload.errID, 'code_expired')
  assert.is((await poll(c, approved.deviceCode)).payload.errID, 'code_expired')
})

test('the expiry sweep forgets a grant one ttl after it expired: code_expired until then, invalid_code after', async ({ t }) => {
  const tv = await requestAuthorization(t)
  clock.advance(600_000 + 600_000)
  await sweepExpired(t.server.deps)
  assert.is((await poll(tv.client, tv.deviceCode)).payload.errID, 'code_expired')
  clock.advance(1)
  await sweepExpired(t.server.deps)
  assert.is((await poll(tv.client, tv.deviceCode)).payload.errID, 'invalid_code')
})

test('an unknown device code → invalid_code; a malformed one → invalid_payload', async ({ t }) => {
  const c = await t.connect()
  assert.is((await poll(c, 'A'.repeat(43))).payload.errID, 'invalid_code')
  assert.is((await poll(c, 'short')).payload.errID, 'invalid_payload')
})

test('race, 50 times: a poll and an approval with the requesting socket open hand out exactly one session', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const poller = await t.connect()
  let polledWins = 0
  for (let i = 0; i < 50; i++) {
    const tv = await requestAuthorization(t)
    clock.advance(5000)
    // Alternate which frame leaves first; the two handlers interleave at their awaits on the server.
    const approve = () => me.client.request('device:authorize_approve', { userCode: tv.userCode })
    const poll = () => poller.request('device:authorize_poll', { deviceCode: tv.deviceCode })
    const [approved, polled] = i % 2 ? await Promise.all([approve(), poll()]) : await Promise.all([poll(), approve()]).then(([p, a]) => [a, p] as const)
    assert.ok(approved.ok, JSON.stringify(approved))
    await requestOk(tv.client, 'server:ping') // events to tv sent before this reply have arrived
    const evented = tv.client.events.filter((e) => e.type === 'device:authorized')
    const sessions = evented.length + (polled.ok ? 1 : 0)
    assert.is(sessions, 1, `iteration ${i}: poll ${JSON.stringify(polled.payload)}, ${evented.length} events`)
    if (polled.ok) polledWins++
    else assert.ok(['authorization_pending', 'code_expired'].includes(polled.payload.errID), polled.payload.errID)
    const ids = (await requestOk(me.client, 'device:list')).payload.devices.filter((d: { deviceID: string }) => d.deviceID === approved.payload.deviceID)
    assert.is(ids.length, 1)
    await requestOk(me.client, 'device:revoke', { deviceID: approved.payload.deviceID, sudoToken: await sudo(me.client, password) })
    tv.client.close()
    if (polled.ok) await poller.nextEvent('profile:session_revoked') // the poller was that device; anonymous again
  }
  assert.ok(polledWins < 50, 'the waiting socket is served at approval')
})

test.run()
