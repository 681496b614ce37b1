// profile:reset_password over real sockets: a forgotten password reset by a code; every device revoked.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register, verifyThirdPIDs } from '../../support/accounts.ts'
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
  // Reset codes go only to proven addresses: these owners have proven theirs.
  for (const name of ['juliet', 'romeo']) await verifyThirdPIDs(ctx.t, name)
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

// Audit issue 11 §3: the password policy (which reads the account's names) ran before the token, so a
// made-up token told which addresses have accounts and confirmed their usernames and phone numbers.
const oracle = suite('profile:reset_password is no oracle before the token matches')
const madeUpToken = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

for (const revealAccounts of [true, false]) {
  oracle(`every refusal before the token is invalid_token (privacy.revealAccounts ${revealAccounts})`, async () => {
    const t = await startCodeServer({ privacy: { revealAccounts } })
    try {
      const c = await t.connect()
      await register(c, { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: 'jc@capulet.example' }, { type: 'msisdn', value: '+15550002222' }] })
      const ask = async (thirdPID: string, newPassword: string) =>
        (await c.request('profile:reset_password', { thirdPID, verificationToken: madeUpToken, newPassword })).payload
      // A short password: weak_password for an existing account, invalid_token for a missing one, before.
      assert.equal(await ask('jc@capulet.example', 'short'), invalidToken)
      assert.equal(await ask('nobody@capulet.example', 'short'), invalidToken)
      // The policy's context words confirmed the username and the phone number.
      assert.equal(await ask('jc@capulet.example', 'juliet-and-stuff-1'), invalidToken)
      assert.equal(await ask('jc@capulet.example', 'x+15550002222'), invalidToken)
      assert.equal(await ask('jc@capulet.example', 'romeo-and-stuff-1'), invalidToken)
    } finally {
      await t.close()
    }
  })
}

oracle('the type is charged to a per-IP rule (reset_ip: 10, then 1 a minute)', async () => {
  const t = await startCodeServer({ ratelimit: { enabled: true } })
  try {
    const c = await t.connect()
    for (let i = 0; i < 10; i++) {
      const reply = await c.request('profile:reset_password', { thirdPID: `n${i}@capulet.example`, verificationToken: madeUpToken, newPassword })
      assert.equal(reply.payload, invalidToken, `request ${i}`)
    }
    const refused = await c.request('profile:reset_password', { thirdPID: 'n10@capulet.example', verificationToken: madeUpToken, newPassword })
    assert.is(refused.payload.errID, 'ratelimit_exceed')
    assert.ok(refused.payload.errPayload.retryAfter > 50_000 && refused.payload.errPayload.retryAfter <= 60_000, JSON.stringify(refused.payload))
  } finally {
    await t.close()
  }
})

oracle.run()
