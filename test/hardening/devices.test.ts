// Devices per account (limits.maxDevicesPerAccount), smoke tier: a login past the cap is refused with
// forbidden {maxDevices}, creates nothing (nor uses a login code's token), and a revocation frees a slot.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { assertValidReply } from '../support/schemas.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../support/codes.ts'
import { verifyThirdPIDs } from '../support/accounts.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('hardening: devices per account')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ limits: { maxDevicesPerAccount: 3 } })
})
test.after(async (ctx) => ctx.t.close())

const refused = { errID: 'forbidden', errText: errors.forbidden, errPayload: { maxDevices: 3 } }

test("a registration's device (loginOnSuccess) counts toward the cap like a login's; the one past it is refused; revoking frees a slot", async ({ t }) => {
  const c = await t.connect()
  const reg = await c.request('profile:register', { username: 'juliet', password, loginOnSuccess: true })
  assertValidReply('profile:register', reg)
  const second = await t.connect()
  const two = await second.request('profile:login', { username: 'juliet', password })
  assertValidReply('profile:login', two)
  assertValidReply('profile:login', await (await t.connect()).request('profile:login', { username: 'juliet', password }))
  const held = (await second.request('device:list')).payload.devices.map((d: { deviceID: string }) => d.deviceID)
  assert.is(held.length, 3)
  assert.ok(held.includes(reg.payload.loginPayload.deviceID), "the registration's device is one of the three")

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

const codes = suite<{ t: CodeServer }>('hardening: devices per account, passwordless login')
codes.before(async (ctx) => {
  ctx.t = await startCodeServer({ limits: { maxDevicesPerAccount: 1 } })
})
codes.after(async (ctx) => ctx.t.close())

codes('a code login refused at the cap keeps its token: it works once a slot is free', async ({ t }) => {
  const c = await t.connect()
  const reg = await c.request('profile:register', {
    username: 'juliet',
    password,
    thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }],
    loginOnSuccess: true,
  })
  assertValidReply('profile:register', reg)
  await verifyThirdPIDs(t, 'juliet') // login codes go only to proven addresses
  const other = await t.connect()
  const token = await obtainToken(t, other, { purpose: 'login', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  const login = { thirdPID: 'juliet@verona.example', verificationToken: token }
  assert.equal((await other.request('profile:login', login)).payload, { ...refused, errPayload: { maxDevices: 1 } })
  assertValidReply('device:revoke', await c.request('device:revoke', { deviceID: reg.payload.loginPayload.deviceID }))
  assertValidReply('profile:login', await other.request('profile:login', login))
  assert.equal((await (await t.connect()).request('profile:login', login)).payload.errID, 'invalid_token', 'still single use')
})

test.run()
codes.run()
