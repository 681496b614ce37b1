// Passwordless profile:login with a verificationToken (purpose login): success, binding, single use, backoff.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { register, verifyThirdPIDs } from '../../support/accounts.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../../support/codes.ts'
import { manualClock } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const err = (errID: keyof typeof errors) => ({ errID, errText: errors[errID] })

const test = suite<{ t: CodeServer }>('profile:login with a verificationToken')

test.before(async (ctx) => {
  ctx.t = await startCodeServer({ sessions: { loginBackoff: { freeFailures: 1, baseMs: 60_000, maxMs: 600_000 } } })
  const c = await ctx.t.connect()
  await register(c, { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }] })
  await register(c, { username: 'romeo', password, thirdPIDs: [{ type: 'email', value: 'romeo@verona.example' }] })
  // An account without a username, known only by its phone number.
  await register(c, { thirdPIDs: [{ type: 'msisdn', value: '+390458001234' }], password: 'nurse-of-verona' })
  // Codes go only to proven addresses: these owners have proven theirs.
  for (const name of ['juliet', 'romeo', '+390458001234']) await verifyThirdPIDs(ctx.t, name)
})
test.after(async (ctx) => ctx.t.close())

test('thirdPID + token: logged in as a new device; the token then serves no more', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'login', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  const reply = await c.request('profile:login', { thirdPID: 'Juliet@Verona.example', verificationToken: token, deviceName: 'phone' })
  assertValidReply('profile:login', reply)
  assert.is(reply.payload.userID, '@juliet@localhost')
  assert.is(reply.to, '@juliet@localhost')
  const again = await (await t.connect()).request('profile:login', { thirdPID: 'juliet@verona.example', verificationToken: token })
  assert.equal(again.payload, err('invalid_token'))
})

test('username + token (a code sent by username + channel) works too', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'login', username: 'juliet', channel: 'email' }, 'juliet@verona.example')
  assertValidReply('profile:login', await c.request('profile:login', { username: 'juliet', verificationToken: token }))
})

test('a token is bound to its account and 3PID: another account’s name → invalid_token, and it is not burnt', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'login', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  assert.equal((await c.request('profile:login', { username: 'romeo', verificationToken: token })).payload, err('invalid_token'))
  assert.equal((await c.request('profile:login', { thirdPID: 'romeo@verona.example', verificationToken: token })).payload, err('invalid_token'))
  assert.equal((await c.request('profile:login', { username: 'nobody', verificationToken: token })).payload, err('invalid_token'))
  assertValidReply('profile:login', await c.request('profile:login', { loginID: 'juliet@verona.example', verificationToken: token }))
})

test('a token of another purpose (signup, reset_password) cannot log in', async ({ t }) => {
  const c = await t.connect()
  const reset = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  assert.equal((await c.request('profile:login', { thirdPID: 'juliet@verona.example', verificationToken: reset })).payload, err('invalid_token'))
  const signup = await obtainToken(t, c, { purpose: 'signup', thirdPID: 'nurse@verona.example' }, 'nurse@verona.example')
  assert.equal((await c.request('profile:login', { thirdPID: 'nurse@verona.example', verificationToken: signup })).payload, err('invalid_token'))
})

test('a made-up token → invalid_token', async ({ t }) => {
  const reply = await (await t.connect()).request('profile:login', { username: 'juliet', verificationToken: 'q3Vh0F7xK2m9YbWcT4nLrJ8sDpA1eGzU6oHiXyBk5Qw' })
  assert.equal(reply.payload, err('invalid_token'))
})

test('the owner gets in with a code while password guessing is backed off, and that clears the backoff', async ({ t }) => {
  const c = await t.connect()
  for (let i = 0; i < 2; i++) assert.equal((await c.request('profile:login', { username: 'romeo', password: 'wrong-guess-1' })).payload.errID, 'invalid_creds')
  assert.is((await c.request('profile:login', { username: 'romeo', password })).payload.errID, 'ratelimit_exceed')
  const token = await obtainToken(t, c, { purpose: 'login', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
  assertValidReply('profile:login', await c.request('profile:login', { thirdPID: 'romeo@verona.example', verificationToken: token }))
  const account = await t.server.store.accounts.byUsername('romeo')
  assert.equal([account?.failedLogins, account?.loginBlockedUntil], [0, 0])
  assertValidReply('profile:login', await (await t.connect()).request('profile:login', { username: 'romeo', password }))
})

test('a code by SMS logs in an account known only by its phone number', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'login', thirdPID: '+39 045 800 1234' }, '+390458001234')
  assertValidReply('profile:login', await c.request('profile:login', { thirdPID: '+390458001234', verificationToken: token }))
})

test('a disabled account: the token is accepted, then user_disabled', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'login', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
  const account = await t.server.store.accounts.byUsername('romeo')
  await t.server.store.accounts.setStatus(account!.id, 'disabled', Date.now())
  assert.equal((await c.request('profile:login', { username: 'romeo', verificationToken: token })).payload, err('user_disabled'))
  await t.server.store.accounts.setStatus(account!.id, 'active', Date.now())
})

test.run()

// Audit issue 11 §5 (contract §7): a run of wrong passwords from the owner's own address (a shared NAT,
// or a proxy) emptied login_ip, which every profile:login paid, so the owner's code login was refused.
const shipped = suite('failed passwords do not block the other ways in (shipped rate limits)')

shipped('after 40 wrong passwords from the same address, a code login and a reset still work', async () => {
  const clock = manualClock()
  const t = await startCodeServer({ ratelimit: { enabled: true } }, { clock })
  try {
    const c = await t.connect()
    await register(c, { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }] })
    await verifyThirdPIDs(t, 'juliet')
    const guesser = await t.connect()
    const answers = new Set<string>()
    for (let i = 0; i < 40; i++) answers.add((await guesser.request('profile:login', { username: 'juliet', password: `wrong-guess-${i}` })).payload.errID)
    // 40 exceed login_ip's 30: the last ones meet its captcha step; the account backoff answers the others.
    assert.equal([...answers].sort(), ['captcha_required', 'invalid_creds', 'ratelimit_exceed'])
    assert.is((await guesser.request('profile:login', { username: 'juliet', password })).payload.errID, 'captcha_required', 'password logins stay slowed')

    const owner = await t.connect()
    const token = await obtainToken(t, owner, { purpose: 'login', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
    assertValidReply('profile:login', await owner.request('profile:login', { thirdPID: 'juliet@verona.example', verificationToken: token }))

    clock.advance(60_000) // one code a minute to an address
    const reset = await obtainToken(t, owner, { purpose: 'reset_password', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
    const reply = await owner.request('profile:reset_password', { thirdPID: 'juliet@verona.example', verificationToken: reset, newPassword: 'capulet-garden-9' })
    assert.ok(reply.ok, JSON.stringify(reply))
  } finally {
    await t.close()
  }
})

shipped.run()
