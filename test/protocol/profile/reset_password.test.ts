// profile:reset_password over real sockets: a forgotten password reset by a code; every device revoked.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register } from '../../support/accounts.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../../support/codes.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const newPassword = 'capulet-garden-9'
const invalidToken = { errID: 'invalid_token', errText: errors.invalid_token }

const test = suite<{ t: CodeServer }>('profile:reset_password')

test.before(async (ctx) => {
  ctx.t = await startCodeServer({ sessions: { loginBackoff: { freeFailures: 1, baseMs: 60_000, maxMs: 600_000 } } })
  const c = await ctx.t.connect()
  await register(c, {
    username: 'juliet',
    password,
    thirdPIDs: [
      { type: 'email', value: 'juliet@verona.example' },
      { type: 'msisdn', value: '+390458001234' },
    ],
  })
  await register(c, { username: 'romeo', password, thirdPIDs: [{ type: 'email', value: 'romeo@verona.example' }] })
})
test.after(async (ctx) => ctx.t.close())

test('resets the password, revokes every device (events), logs nobody in, clears the login backoff', async ({ t }) => {
  const devices = [await login(t, { username: 'juliet', password }), await login(t, { username: 'juliet', password })]
  const c = await t.connect()
  for (let i = 0; i < 2; i++) await c.request('profile:login', { username: 'juliet', password: 'wrong-guess-1' })
  assert.is((await c.request('profile:login', { username: 'juliet', password })).payload.errID, 'ratelimit_exceed')

  const token = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  const reply = await c.request('profile:reset_password', { thirdPID: 'Juliet@Verona.example', verificationToken: token, newPassword })
  assertValidReply('profile:reset_password', reply)
  assert.equal(reply.payload, {})
  assert.is(reply.to, undefined)
  for (const device of devices) {
    const event = await device.client.nextEvent('profile:session_revoked')
    assert.is(event.payload.reason, 'password_changed')
  }
  assert.is(await t.server.store.devices.count((await t.server.store.accounts.byUsername('juliet'))!.id), 0)
  assert.is((await c.request('profile:login', { username: 'juliet', password })).payload.errID, 'invalid_creds')
  await login(t, { username: 'juliet', password: newPassword })
})

test('a token serves once', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: '+390458001234' }, '+390458001234')
  assert.ok((await c.request('profile:reset_password', { thirdPID: '+390458001234', verificationToken: token, newPassword: password })).ok)
  assert.equal((await c.request('profile:reset_password', { thirdPID: '+390458001234', verificationToken: token, newPassword })).payload, invalidToken)
  await login(t, { username: 'juliet', password })
})

test('the token is bound to its 3PID and account: another account’s 3PID, the same account’s other 3PID → invalid_token', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  assert.equal((await c.request('profile:reset_password', { thirdPID: 'romeo@verona.example', verificationToken: token, newPassword })).payload, invalidToken)
  assert.equal((await c.request('profile:reset_password', { thirdPID: '+390458001234', verificationToken: token, newPassword })).payload, invalidToken)
  assert.equal((await c.request('profile:reset_password', { thirdPID: 'nobody@verona.example', verificationToken: token, newPassword })).payload, invalidToken)
  await login(t, { username: 'romeo', password })
  // Not burnt by the refusals.
  assert.ok((await c.request('profile:reset_password', { thirdPID: 'juliet@verona.example', verificationToken: token, newPassword: password })).ok)
})

test('a weak password → weak_password, and the token is kept', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
  const weak = await c.request('profile:reset_password', { thirdPID: 'romeo@verona.example', verificationToken: token, newPassword: 'short' })
  assert.is(weak.payload.errID, 'weak_password')
  const alsoWeak = await c.request('profile:reset_password', { thirdPID: 'romeo@verona.example', verificationToken: token, newPassword: 'romeo@verona.example' })
  assert.is(alsoWeak.payload.errID, 'weak_password')
  assert.ok((await c.request('profile:reset_password', { thirdPID: 'romeo@verona.example', verificationToken: token, newPassword })).ok)
  await login(t, { username: 'romeo', password: newPassword })
})

test('a made-up token → invalid_token; a malformed 3PID → invalid_payload', async ({ t }) => {
  const c = await t.connect()
  const madeUp = await c.request('profile:reset_password', { thirdPID: 'juliet@verona.example', verificationToken: 'q3Vh0F7xK2m9YbWcT4nLrJ8sDpA1eGzU6oHiXyBk5Qw', newPassword })
  assert.equal(madeUp.payload, invalidToken)
  const malformed = await c.request('profile:reset_password', { thirdPID: 'juliet', verificationToken: 'abc', newPassword })
  assert.equal(malformed.payload.errPayload, { errors: [{ path: '/payload/thirdPID', message: 'is not a valid email address or phone number' }] })
  assert.is((await c.request('profile:reset_password', { thirdPID: 'juliet@verona.example', newPassword })).payload.errID, 'invalid_payload')
})

test.run()
