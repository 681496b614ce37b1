// Devices per account (limits.maxDevicesPerAccount), smoke tier: a login past the cap is refused with
// forbidden {maxDevices}, creates nothing, and a revocation frees a slot.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { assertValidReply } from '../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('hardening: devices per account')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ limits: { maxDevicesPerAccount: 3 } })
})
test.after(async (ctx) => ctx.t.close())

const refused = { errID: 'forbidden', errText: errors.forbidden, errPayload: { maxDevices: 3 } }

test('the device past the cap is refused (password login and registration alike); revoking frees a slot', async ({ t }) => {
  const c = await t.connect()
  const reg = await c.request('profile:register', { username: 'juliet', password, loginOnSuccess: true })
  assertValidReply('profile:register', reg)
  const second = await t.connect()
  const two = await second.request('profile:login', { username: 'juliet', password })
  assertValidReply('profile:login', two)
  assertValidReply('profile:login', await (await t.connect()).request('profile:login', { username: 'juliet', password }))

  await c.request('server:ping')
  const eventsBefore = c.events.length
  const fourth = await t.connect()
  const reply = await fourth.request('profile:login', { username: 'juliet', password })
  assert.equal(reply.payload, refused)
  assert.is(fourth.ws.readyState, fourth.ws.OPEN, 'the socket stays, anonymous')
  assert.equal((await fourth.request('device:list')).payload.errID, 'auth_required')
  assert.is(await t.server.store.devices.count((await t.server.store.accounts.byUsername('juliet'))!.id), 3, 'nothing was created')
  await c.request('server:ping') // an event sent before this reply would have arrived before it
  assert.is(c.events.length, eventsBefore, 'no device:new_login for a refused login')

  // The current device may revoke itself without sudo.
  assertValidReply('device:revoke', await second.request('device:revoke', { deviceID: two.payload.deviceID }))
  assertValidReply('profile:login', await fourth.request('profile:login', { username: 'juliet', password }))
  assert.equal((await (await t.connect()).request('profile:login', { username: 'juliet', password })).payload, refused)
})

test.run()
