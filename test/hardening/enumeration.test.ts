// Enumeration switch (privacy.revealAccounts), smoke tier: with it off, profile:check_account,
// profile:contact_hint and verification:request (login, reset_password) answer an existing and an
// unknown account alike, and nothing is sent for the unknown one. With it on (the control) they differ.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { verifyThirdPIDs } from '../support/accounts.ts'
import { manualClock } from '../support/server.ts'
import { startCodeServer, type CodeServer } from '../support/codes.ts'
import type { Reply, TestClient } from '../support/client.ts'
import { assertValidReply } from '../support/schemas.ts'

const password = 'balcony-scene-2'
const clock = manualClock()
const test = suite<{ hidden: CodeServer; shown: CodeServer; c: TestClient; s: TestClient }>('hardening: privacy.revealAccounts false')

test.before(async (ctx) => {
  // Shipped rate-limit rules on, so a repeated code request is refused the same way for both.
  ctx.hidden = await startCodeServer({ privacy: { revealAccounts: false }, ratelimit: { enabled: true } }, { clock })
  ctx.shown = await startCodeServer()
  for (const t of [ctx.hidden, ctx.shown]) {
    const c = await t.connect()
    const juliet = await c.request('profile:register', { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }] })
    assert.ok(juliet.ok, JSON.stringify(juliet))
    await verifyThirdPIDs(t, 'juliet') // codes go only to proven addresses
    assert.ok((await c.request('profile:register', { username: 'romeo', password })).ok)
  }
  ctx.c = await ctx.hidden.connect()
  ctx.s = await ctx.shown.connect()
})
test.after(async (ctx) => {
  await ctx.hidden.close()
  await ctx.shown.close()
})

/** A reply without its id (the only field that must differ between two requests). */
const body = ({ id: _id, ...rest }: Reply) => rest

test('profile:check_account: the same reply for existing and unknown usernames, emails and numbers', async ({ c, s }) => {
  for (const [known, unknown] of [
    ['juliet', 'nobody'],
    ['juliet@verona.example', 'nobody@verona.example'],
    ['+15550000001', '+15550000002'],
  ]) {
    const a = await c.request('profile:check_account', { loginID: known })
    const b = await c.request('profile:check_account', { loginID: unknown })
    assertValidReply('profile:check_account', a)
    assert.equal(body(a), body(b), `${known} vs ${unknown}`)
    assert.is(a.payload.exists, false)
  }
  assert.is((await s.request('profile:check_account', { loginID: 'juliet' })).payload.exists, true, 'control: revealed when on')
})

/** The answers to `count` wrong-password logins in a row, without their ids. */
async function wrongPasswords(c: TestClient, loginID: string, count: number) {
  const answers = []
  for (let i = 0; i < count; i++) answers.push(body(await c.request('profile:login', { loginID, password: 'not-the-password' })))
  return answers
}

test('profile:login: a run of wrong passwords answers alike for an account, a passwordless one and an unknown name', async ({ hidden, shown, c, s }) => {
  // A passwordless account (registered with a code, no password), seeded as it is stored.
  for (const t of [hidden, shown]) {
    await t.server.store.accounts.create({
      id: 'rosaline00000001', username: 'rosaline', userID: '@rosaline@localhost', passwordHash: null,
      status: 'active', profile: {}, thirdPIDs: [], now: clock.now(),
    })
  }
  // Shipped backoff: 3 free failures, then 1 s (the clock stands still, so the block holds).
  const account = await wrongPasswords(c, 'juliet', 6)
  assert.equal(account.map((a) => a.payload.errID), ['invalid_creds', 'invalid_creds', 'invalid_creds', 'invalid_creds', 'ratelimit_exceed', 'ratelimit_exceed'])
  assert.equal(await wrongPasswords(c, 'nobody-at-all', 6), account, 'an unknown name gets the same backoff')
  assert.equal(await wrongPasswords(c, 'rosaline', 6), account, 'a passwordless account answers invalid_creds, then the same backoff')
  assert.equal(await wrongPasswords(c, 'nobody@verona.example', 6), account, 'an unknown email too')

  // Control: with revealAccounts on, an unknown name is never blocked and a passwordless account says so.
  const unknown = await wrongPasswords(s, 'nobody-at-all', 6)
  assert.ok(unknown.every((a) => a.payload.errID === 'invalid_creds'))
  assert.is((await s.request('profile:login', { username: 'rosaline', password: 'not-the-password' })).payload.errID, 'password_not_set')
})

test('profile:contact_hint: an unknown user looks like a user with no 3PID', async ({ c, s }) => {
  const known = await c.request('profile:contact_hint', { username: 'romeo' })
  const unknown = await c.request('profile:contact_hint', { username: 'nobody' })
  assertValidReply('profile:contact_hint', unknown)
  assert.equal(body(known), body(unknown))
  assert.equal(unknown.payload, { email: null, msisdn: null })
  assert.equal((await s.request('profile:contact_hint', { username: 'nobody' })).payload, { errID: 'not_found', errText: errors.not_found })
})

test('verification:request login/reset_password: success-shaped for unknown accounts, nothing sent', async ({ hidden, c, s }) => {
  for (const purpose of ['login', 'reset_password']) {
    clock.advance(61_000) // the one-per-minute destination rule refills
    const known = await c.request('verification:request', { purpose, thirdPID: 'juliet@verona.example' })
    const unknown = await c.request('verification:request', { purpose, thirdPID: 'nobody@verona.example' })
    for (const reply of [known, unknown]) assertValidReply('verification:request', reply)
    const { verificationID: _a, ...knownRest } = known.payload
    const { verificationID: _b, ...unknownRest } = unknown.payload
    assert.equal(knownRest, { ...unknownRest, destination: 'ju*****@*****.example' })
    assert.is(unknown.payload.destination, 'no*****@*****.example')
    // A repeat inside the minute is refused alike.
    const again = [
      await c.request('verification:request', { purpose, thirdPID: 'juliet@verona.example' }),
      await c.request('verification:request', { purpose, thirdPID: 'nobody@verona.example' }),
    ]
    assert.equal(body(again[0]!), body(again[1]!))
    assert.is(again[0]!.payload.errID, 'ratelimit_exceed')

    // By username + channel: an account without that channel and no account at all get a stable decoy.
    clock.advance(61_000)
    const byName = async (username: string) => (await c.request('verification:request', { purpose, username, channel: 'email' })).payload
    const real = await byName('juliet')
    const none = await byName('romeo')
    const nobody = await byName('nobody')
    for (const p of [real, none, nobody]) assert.equal(Object.keys(p).sort(), ['destination', 'expiresIn', 'resendAfter', 'verificationID'])
    assert.match(none.destination, /^[a-z]{2}\*{5}@\*{5}\.[a-z]{2,3}$/)
    assert.match(nobody.destination, /^[a-z]{2}\*{5}@\*{5}\.[a-z]{2,3}$/)
    clock.advance(61_000)
    assert.is((await byName('nobody')).destination, nobody.destination, 'the decoy destination does not change')
  }
  const sent = await hidden.sent()
  assert.ok(sent.length > 0)
  assert.ok(sent.every((m) => m.to === 'juliet@verona.example'), JSON.stringify(sent.map((m) => m.to)))
  // Guessing at a decoy verificationID reads like guessing at a real one: 4, 3, 2, 1, 0 attempts left, then
  // the code is gone; by username too. No guess is ever right, and the stored decoy sends nothing.
  for (const request of [{ thirdPID: 'nobody@verona.example' }, { username: 'nobody', channel: 'email' }]) {
    clock.advance(24 * 60 * 60_000) // a day: this requester's daily budget for juliet's address refills too
    const decoy = await c.request('verification:request', { purpose: 'login', ...request })
    const real = await c.request('verification:request', { purpose: 'login', thirdPID: 'juliet@verona.example' })
    const code = await hidden.lastCode('juliet@verona.example', 'login')
    const wrong = code === '000000' ? '000001' : '000000'
    for (const attemptsLeft of [4, 3, 2, 1, 0]) {
      const guesses = [decoy, real].map((r) => c.request('verification:verify', { verificationID: r.payload.verificationID, code: wrong }))
      for (const guess of await Promise.all(guesses)) {
        assert.equal(guess.payload, { errID: 'invalid_code', errText: errors.invalid_code, errPayload: { attemptsLeft } })
      }
    }
    const after = await c.request('verification:verify', { verificationID: decoy.payload.verificationID, code: wrong })
    assert.equal(after.payload, { errID: 'invalid_code', errText: errors.invalid_code, errPayload: { attemptsLeft: 0 } })
  }
  assert.ok((await hidden.sent()).every((m) => m.to === 'juliet@verona.example'))

  const control = await s.request('verification:request', { purpose: 'login', thirdPID: 'nobody@verona.example' })
  assert.equal(control.payload, { errID: 'not_found', errText: errors.not_found })
})

test.run()
