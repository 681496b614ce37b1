// device:list over real sockets: every device of the account, which is current, which is online, timestamps.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { register } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
// sessions.idleTimeout as shipped (90 days): expiresAt is lastSeenAt + that.
const idle = 7_776_000_000
const clock = manualClock()
const test = suite<{ t: TestServer }>('device:list')

test.before(async (ctx) => {
  ctx.t = await startTestServer({}, { clock })
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) {
    await register(c, { username, password })
  }
})
test.after(async (ctx) => ctx.t.close())

test('lists the account\'s devices oldest first, with current, online, timestamps and expiry', async ({ t }) => {
  const start = clock.now()
  const c1 = await t.connect()
  const phone = (await c1.request('profile:login', { username: 'juliet', password, deviceName: 'phone' })).payload
  clock.advance(1000)
  // Logging in again on the same socket leaves the phone with no live connection.
  const laptop = (await c1.request('profile:login', { username: 'juliet', password, deviceName: 'laptop' })).payload
  clock.advance(1000)
  const c2 = await t.connect()
  const tablet = (await c2.request('profile:login', { username: 'juliet', password })).payload
  await (await t.connect()).request('profile:login', { username: 'romeo', password })

  const reply = await c1.request('device:list', {})
  assertValidReply('device:list', reply)
  assert.is(reply.to, '@juliet@localhost')
  assert.equal(reply.payload, {
    devices: [
      // The laptop's login was a request on the phone's authenticated socket: it saw the phone last.
      { deviceID: phone.deviceID, name: 'phone', createdAt: start, lastSeenAt: start + 1000, expiresAt: start + 1000 + idle, current: false, online: false },
      { deviceID: laptop.deviceID, name: 'laptop', createdAt: start + 1000, lastSeenAt: start + 2000, expiresAt: start + 2000 + idle, current: true, online: true },
      { deviceID: tablet.deviceID, name: 'unnamed device', createdAt: start + 2000, lastSeenAt: start + 2000, expiresAt: start + 2000 + idle, current: false, online: true },
    ],
  })

  // profile:auth brings the phone back online and moves its lastSeenAt.
  clock.advance(5000)
  const c3 = await t.connect()
  assert.is((await c3.request('profile:auth', { authToken: phone.authToken })).ok, true)
  const fromPhone = await c3.request('device:list', {})
  assertValidReply('device:list', fromPhone)
  assert.equal(fromPhone.payload.devices[0], { deviceID: phone.deviceID, name: 'phone', createdAt: start, lastSeenAt: start + 7000, expiresAt: start + 7000 + idle, current: true, online: true })
  assert.equal(fromPhone.payload.devices.map((d: { current: boolean }) => d.current), [true, false, false])
})

test('needs an authenticated connection; takes no fields', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('device:list', {})).payload, { errID: 'auth_required', errText: errors.auth_required })
  assert.is((await c.request('profile:login', { username: 'romeo', password })).ok, true)
  const extra = await c.request('device:list', { all: true })
  assert.is(extra.payload.errID, 'invalid_payload')
})

test.run()
