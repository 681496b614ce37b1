// profile:deactivate over real sockets: sudo, every device revoked, login refused, username kept.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register, sudo, verifyThirdPIDs } from '../../support/accounts.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('profile:deactivate')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) {
    await register(c, { username, password, thirdPIDs: [{ type: 'email', value: `${username}@verona.example` }] })
    await verifyThirdPIDs(ctx.t, username) // a proven address stays reserved (an unproven one reserves nothing)
  }
})
test.after(async (ctx) => ctx.t.close())

const sudoRequired = { errID: 'sudo_required', errText: errors.sudo_required }

test('without a valid sudoToken: sudo_required, nothing changes', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  assert.equal((await me.client.request('profile:deactivate', {})).payload, sudoRequired)
  const unknown = await me.client.request('profile:deactivate', { sudoToken: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
  assert.equal(unknown.payload, sudoRequired)
  const other = await login(t, { username: 'romeo', password })
  const foreign = await me.client.request('profile:deactivate', { sudoToken: await sudo(other.client, password) })
  assert.equal(foreign.payload, sudoRequired)
  assert.is((await me.client.request('device:list', {})).ok, true)
  await login(t, { username: 'juliet', password })
})

test('disables the account and revokes every device, this connection included', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const other = await login(t, { username: 'juliet', password })
  const stranger = await login(t, { username: 'romeo', password })

  const reply = await me.client.request('profile:deactivate', { sudoToken: await sudo(me.client, password) })
  assertValidReply('profile:deactivate', reply)
  assert.equal(reply.payload, {})
  assert.is(reply.to, undefined, 'the connection is no longer authenticated')

  for (const [client, deviceID] of [[me.client, me.deviceID], [other.client, other.deviceID]] as const) {
    const event = await client.nextEvent('profile:session_revoked')
    assertValidReply('profile:session_revoked', event, 'event')
    assert.equal(event.payload, { deviceID, reason: 'deactivated' })
    assert.is((await client.request('device:list', {})).payload.errID, 'auth_required')
  }
  assert.is((await t.connect().then((c) => c.request('profile:auth', { authToken: other.authToken }))).payload.errID, 'invalid_token')
  assert.is((await stranger.client.request('device:list', {})).ok, true)
  assert.not.ok(stranger.client.events.some((e) => e.type === 'profile:session_revoked'))
})

test('a deactivated account: the right password answers user_disabled, a wrong one invalid_creds', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('profile:login', { username: 'juliet', password })).payload, { errID: 'user_disabled', errText: errors.user_disabled })
  assert.equal((await c.request('profile:login', { thirdPID: 'juliet@verona.example', password })).payload.errID, 'user_disabled')
  assert.equal((await c.request('profile:login', { username: 'juliet', password: 'wrong-password-1' })).payload.errID, 'invalid_creds')
})

test('the username and the verified email stay reserved', async ({ t }) => {
  const c = await t.connect()
  const again = await c.request('profile:register', { username: 'Juliet', password: 'another-password-1' })
  assert.is(again.payload.errID, 'id_exists')
  const email = await c.request('profile:register', { username: 'juliet2', password: 'another-password-1', thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }] })
  assert.is(email.payload.errID, 'id_exists')
})

test('needs an authenticated connection; only sudoToken is accepted', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('profile:deactivate', { sudoToken: 'abcdefgh' })).payload, { errID: 'auth_required', errText: errors.auth_required })
  const me = await login(t, { username: 'romeo', password })
  assert.is((await me.client.request('profile:deactivate', { password })).payload.errID, 'invalid_payload')
  assert.is((await me.client.request('profile:deactivate', { sudoToken: 'not a token' })).payload.errID, 'invalid_payload')
})

test.run()
