// device:authorize_deny over real sockets: the waiting socket is told, the code dies, a poll says access_denied.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register, requestOk } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'
import { requestAuthorization } from '../../support/device-authorization.ts'

const password = 'balcony-scene-2'
const clock = manualClock(Date.now())
const test = suite<{ t: TestServer }>('device:authorize_deny')

test.before(async (ctx) => {
  ctx.t = await startTestServer({}, { clock })
  await register(await ctx.t.connect(), { username: 'juliet', password })
})
test.after(async (ctx) => ctx.t.close())

test('deny: the waiting socket gets device:authorize_denied {}, stays anonymous, and the code is dead', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const devicesBefore = (await requestOk(me.client, 'device:list')).payload.devices.length
  const tv = await requestAuthorization(t)
  const denied = await me.client.request('device:authorize_deny', { userCode: tv.userCode })
  assertValidReply('device:authorize_deny', denied)
  assert.equal(denied.payload, {})
  const event = await tv.client.nextEvent('device:authorize_denied')
  assertValidReply('device:authorize_denied', event, 'event')
  assert.equal(event.payload, {})
  assert.is((await tv.client.request('device:list')).payload.errID, 'auth_required')
  const invalid = { errID: 'invalid_code', errText: errors.invalid_code }
  assert.equal((await me.client.request('device:authorize_approve', { userCode: tv.userCode })).payload, invalid)
  assert.equal((await me.client.request('device:authorize_deny', { userCode: tv.userCode })).payload, invalid)
  clock.advance(5000)
  assert.is((await tv.client.request('device:authorize_poll', { deviceCode: tv.deviceCode })).payload.errID, 'access_denied')
  assert.is((await requestOk(me.client, 'device:list')).payload.devices.length, devicesBefore)
})

test('an expired code cannot be denied: invalid_code', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const tv = await requestAuthorization(t)
  clock.advance(600_000)
  assert.is((await me.client.request('device:authorize_deny', { userCode: tv.userCode })).payload.errID, 'invalid_code')
})

test('needs an authenticated connection', async ({ t }) => {
  const tv = await requestAuthorization(t)
  assert.is((await tv.client.request('device:authorize_deny', { userCode: tv.userCode })).payload.errID, 'auth_required')
})

test.run()
