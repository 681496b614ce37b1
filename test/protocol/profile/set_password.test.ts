// profile:set_password over real sockets: sudoToken or old password, policy, and revocation of the other devices.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { auth, login, register, sudo } from '../../support/accounts.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const test = suite<{ t: TestServer }>('profile:set_password')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo', 'benvolio', 'nurse']) {
    await register(c, { username, password: first(username) })
  }
})
test.after(async (ctx) => ctx.t.close())

/** Each account's initial password (a password may not contain the username). */
const first = (username: string) => `${[...username].reverse().join('')}-first-pass`

const sudoRequired = { errID: 'sudo_required', errText: errors.sudo_required }

test('with a sudoToken: password changed, every other device revoked, this one kept', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password: first('juliet') })
  const meToo = await auth(t, me.authToken)
  const other = await login(t, { username: 'juliet', password: first('juliet') })
  const otherToo = await auth(t, other.authToken)
  const third = await login(t, { username: 'juliet', password: first('juliet') })
  const stranger = await login(t, { username: 'romeo', password: first('romeo') })

  const sudoToken = await sudo(me.client, first('juliet'))
  const reply = await me.client.request('profile:set_password', { sudoToken, newPassword: 'teiluj-second-pass' })
  assertValidReply('profile:set_password', reply)
  assert.equal(reply.payload, {})
  assert.is(reply.to, '@juliet@localhost', 'this connection stays authenticated')

  for (const [client, deviceID] of [[other.client, other.deviceID], [otherToo, other.deviceID], [third.client, third.deviceID]] as const) {
    const event = await client.nextEvent('profile:session_revoked')
    assertValidReply('profile:session_revoked', event, 'event')
    assert.equal(event.payload, { deviceID, reason: 'password_changed' })
    assert.is((await client.request('device:list', {})).payload.errID, 'auth_required')
  }
  for (const client of [me.client, meToo, stranger.client]) {
    assert.not.ok(client.events.some((e) => e.type === 'profile:session_revoked'))
    assert.is((await client.request('device:list', {})).ok, true)
  }
  const list = await me.client.request('device:list', {})
  assert.equal(list.payload.devices.map((d: { deviceID: string }) => d.deviceID), [me.deviceID])
  assert.is((await (await t.connect()).request('profile:auth', { authToken: other.authToken })).payload.errID, 'invalid_token')

  const c = await t.connect()
  assert.is((await c.request('profile:login', { username: 'juliet', password: first('juliet') })).payload.errID, 'invalid_creds')
  assert.is((await c.request('profile:login', { username: 'juliet', password: 'teiluj-second-pass' })).ok, true)
})

test('a sudoToken changes the password once', async ({ t }) => {
  const me = await login(t, { username: 'romeo', password: first('romeo') })
  const sudoToken = await sudo(me.client, first('romeo'))
  assert.is((await me.client.request('profile:set_password', { sudoToken, newPassword: 'oemor-second-pass' })).ok, true)
  const again = await me.client.request('profile:set_password', { sudoToken, newPassword: 'oemor-third-pass' })
  assert.equal(again.payload, sudoRequired)
  assert.is((await (await t.connect()).request('profile:login', { username: 'romeo', password: 'oemor-second-pass' })).ok, true)
})

test('with the old password instead of a sudoToken; a wrong one answers sudo_required', async ({ t }) => {
  const me = await login(t, { username: 'benvolio', password: first('benvolio') })
  const other = await login(t, { username: 'benvolio', password: first('benvolio') })
  const wrong = await me.client.request('profile:set_password', { oldPassword: 'not-my-password', newPassword: 'oilovneb-second' })
  assert.equal(wrong.payload, sudoRequired)
  assert.is((await other.client.request('device:list', {})).ok, true)

  const reply = await me.client.request('profile:set_password', { oldPassword: first('benvolio'), newPassword: 'oilovneb-second' })
  assertValidReply('profile:set_password', reply)
  const event = await other.client.nextEvent('profile:session_revoked')
  assert.equal(event.payload, { deviceID: other.deviceID, reason: 'password_changed' })
  await login(t, { username: 'benvolio', password: 'oilovneb-second' })
})

test('without any proof, or with an unknown sudoToken: sudo_required', async ({ t }) => {
  const me = await login(t, { username: 'nurse', password: first('nurse') })
  assert.equal((await me.client.request('profile:set_password', { newPassword: 'esrun-second-pass' })).payload, sudoRequired)
  const unknown = await me.client.request('profile:set_password', { sudoToken: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', newPassword: 'esrun-second-pass' })
  assert.equal(unknown.payload, sudoRequired)
  await login(t, { username: 'nurse', password: first('nurse') }) // unchanged
})

test('a weak new password answers weak_password and does not use up the sudoToken', async ({ t }) => {
  const me = await login(t, { username: 'nurse', password: first('nurse') })
  const sudoToken = await sudo(me.client, first('nurse'))
  const short = await me.client.request('profile:set_password', { sudoToken, newPassword: 'short' })
  assert.equal(short.payload, { errID: 'weak_password', errText: errors.weak_password, errPayload: { reason: 'too_short', minLength: 8, maxLength: 256 } })
  const common = await me.client.request('profile:set_password', { sudoToken, newPassword: 'password123' })
  assert.is(common.payload.errPayload.reason, 'common')
  const named = await me.client.request('profile:set_password', { sudoToken, newPassword: 'nurse-nurse' })
  assert.is(named.payload.errPayload.reason, 'context')
  assert.is((await me.client.request('profile:set_password', { sudoToken, newPassword: 'capulet-household' })).ok, true)
})

test('sudoToken and oldPassword together, or no newPassword: invalid_payload', async ({ t }) => {
  const me = await login(t, { username: 'nurse', password: 'capulet-household' })
  const both = await me.client.request('profile:set_password', { sudoToken: 'abcdefgh', oldPassword: 'capulet-household', newPassword: 'another-one-9' })
  assert.is(both.payload.errID, 'invalid_payload')
  assert.is((await me.client.request('profile:set_password', { oldPassword: 'capulet-household' })).payload.errID, 'invalid_payload')
})

test('needs an authenticated connection', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:set_password', { oldPassword: 'x', newPassword: 'whatever-long' })
  assert.equal(reply.payload, { errID: 'auth_required', errText: errors.auth_required })
})

test.run()
