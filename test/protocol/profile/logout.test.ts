// profile:logout over real sockets: this device or every device, revocation fan-out to every live socket.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { auth, login, register } from '../../support/accounts.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('profile:logout')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo', 'mercutio']) {
    await register(c, { username, password })
  }
})
test.after(async (ctx) => ctx.t.close())

const authRequired = { errID: 'auth_required', errText: errors.auth_required }

test('logout cuts every socket of this device; other devices are unaffected', async ({ t }) => {
  const first = await login(t, { username: 'juliet', password })
  const second = await auth(t, first.authToken)
  const third = await auth(t, first.authToken)
  const other = await login(t, { username: 'juliet', password })

  const reply = await first.client.request('profile:logout', {})
  assertValidReply('profile:logout', reply)
  assert.equal(reply.payload, {})
  assert.is(reply.to, undefined, 'the connection is no longer authenticated')

  const revoked = { deviceID: first.deviceID, reason: 'logout' }
  for (const client of [first.client, second, third]) {
    // The event was sent before the logout reply, so it precedes the answer to anything sent now.
    const after = await client.request('device:list', {})
    const event = client.events.find((e) => e.type === 'profile:session_revoked')
    assert.ok(event, 'session_revoked arrived before the next reply')
    assertValidReply('profile:session_revoked', event!, 'event')
    assert.equal(event!.payload, revoked)
    assert.is(event!.to, undefined)
    assert.equal(after.payload, authRequired)
  }

  const list = await other.client.request('device:list', {})
  assert.is(list.ok, true)
  assert.equal(list.payload.devices.map((d: { deviceID: string }) => d.deviceID), [other.deviceID])
  assert.is(other.client.events.length, 0)

  const reuse = await (await t.connect()).request('profile:auth', { authToken: first.authToken })
  assert.equal(reuse.payload, { errID: 'invalid_token', errText: errors.invalid_token })
})

test('allDevices revokes every device of the account, and only that account', async ({ t }) => {
  const a = await login(t, { username: 'romeo', password })
  const a2 = await auth(t, a.authToken)
  const b = await login(t, { username: 'romeo', password })
  const stranger = await login(t, { username: 'mercutio', password })

  const reply = await a.client.request('profile:logout', { allDevices: true })
  assertValidReply('profile:logout', reply)
  assert.is(reply.to, undefined)

  for (const [client, deviceID] of [[a.client, a.deviceID], [a2, a.deviceID], [b.client, b.deviceID]] as const) {
    const event = await client.nextEvent('profile:session_revoked')
    assert.equal(event.payload, { deviceID, reason: 'logout' })
    assert.equal((await client.request('device:list', {})).payload, authRequired)
  }
  for (const token of [a.authToken, b.authToken]) {
    assert.is((await (await t.connect()).request('profile:auth', { authToken: token })).payload.errID, 'invalid_token')
  }
  const fine = await stranger.client.request('device:list', {})
  assert.is(fine.ok, true)
  assert.is(stranger.client.events.length, 0)
})

test('a logged-out connection can log in again', async ({ t }) => {
  const a = await login(t, { username: 'juliet', password })
  await a.client.request('profile:logout', {})
  const again = await a.client.request('profile:login', { username: 'juliet', password })
  assert.is(again.ok, true)
  assert.is(again.to, '@juliet@localhost')
  assert.is.not(again.payload.deviceID, a.deviceID)
})

test('needs an authenticated connection', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('profile:logout', {})).payload, authRequired)
})

test('allDevices must be a boolean; no other fields', async ({ t }) => {
  const a = await login(t, { username: 'mercutio', password })
  const wrongType = await a.client.request('profile:logout', { allDevices: 'yes' })
  assert.is(wrongType.payload.errID, 'invalid_payload')
  assert.equal(wrongType.payload.errPayload.errors[0].path, '/payload/allDevices')
  const extra = await a.client.request('profile:logout', { everything: true })
  assert.is(extra.payload.errID, 'invalid_payload')
  // Still logged in: refused requests change nothing.
  assert.is((await a.client.request('device:list', {})).ok, true)
})

test.run()
