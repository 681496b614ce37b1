// Registration with codes: profile:register with a signup token, "verified" mode's confirmation, pending expiry.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../../support/codes.ts'
import { assertValidReply } from '../../support/schemas.ts'
import { manualClock } from '../../support/server.ts'

const password = 'balcony-scene-2'
const err = (errID: keyof typeof errors, errPayload?: object) => ({ errID, errText: errors[errID], ...(errPayload && { errPayload }) })
const email = (value: string) => ({ type: 'email', value })

// ─── "verified" mode: both ways in ─────────────────────────────────────────────────────────────
const test = suite<{ t: CodeServer; clock: ReturnType<typeof manualClock> }>('registration with codes (mode verified)')

test.before(async (ctx) => {
  ctx.clock = manualClock()
  ctx.t = await startCodeServer({ registration: { mode: 'verified', pendingTtl: 3600 } }, { clock: ctx.clock })
})
test.after(async (ctx) => ctx.t.close())

test('with a signup token: active at once, no password needed, the 3PID verified, loginOnSuccess works', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'signup', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  const reply = await c.request('profile:register', { username: 'juliet', thirdPIDs: [email('Juliet@verona.example')], verificationToken: token, loginOnSuccess: true })
  assertValidReply('profile:register', reply)
  assert.is(reply.payload.confirmationRequired, false)
  assert.is(reply.payload.loginPayload.userID, '@juliet@localhost')
  const account = await t.server.store.accounts.byUsername('juliet')
  assert.is(account?.status, 'active')
  assert.is(account?.passwordHash, null)
  assert.equal(account?.thirdPIDs, [{ type: 'email', value: 'juliet@verona.example', verified: true }])
  // No confirmation code was sent: the signup code already proved the address.
  assert.equal((await t.sent()).filter((m) => m.purpose === 'confirm'), [])
  // Without a password, a code is the way back in.
  assert.equal((await (await t.connect()).request('profile:login', { username: 'juliet', password: 'anything-at-all' })).payload, err('password_not_set'))
})

test('the token serves once, and only for its own 3PID', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'signup', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
  const other = await c.request('profile:register', { username: 'romeo', thirdPIDs: [email('montague@verona.example')], verificationToken: token })
  assert.equal(other.payload, err('invalid_token'))
  assert.ok((await c.request('profile:register', { username: 'romeo', thirdPIDs: [email('romeo@verona.example')], verificationToken: token, password })).ok)
  const reuse = await c.request('profile:register', { username: 'romeo2', thirdPIDs: [email('romeo@verona.example')], verificationToken: token })
  assert.equal(reuse.payload, err('invalid_token'))
})

test('a taken username → id_exists, and the token is kept for a second try', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'signup', thirdPID: 'nurse@verona.example' }, 'nurse@verona.example')
  const taken = await c.request('profile:register', { username: 'juliet', thirdPIDs: [email('nurse@verona.example')], verificationToken: token })
  assert.equal(taken.payload, err('id_exists', { field: 'username' }))
  assertValidReply('profile:register', await c.request('profile:register', { username: 'nurse', thirdPIDs: [email('nurse@verona.example')], verificationToken: token }))
})

test('a login token cannot register', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'login', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  const reply = await c.request('profile:register', { username: 'juliet2', thirdPIDs: [email('juliet@verona.example')], verificationToken: token })
  assert.equal(reply.payload, err('invalid_token'))
})

test('without a token: pending, a confirm code is sent (reply.confirmation), login says confirmation_required until it is verified', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:register', { username: 'tybalt', thirdPIDs: [email('tybalt@verona.example')], password })
  assertValidReply('profile:register', reply)
  const { confirmation, ...rest } = reply.payload
  assert.equal(rest, { userID: '@tybalt@localhost', confirmationRequired: true })
  assert.equal({ ...confirmation, verificationID: 'x' }, { verificationID: 'x', expiresIn: 600, resendAfter: 0, destination: 'ty*****@*****.example' })
  assert.equal((await c.request('profile:login', { username: 'tybalt', password })).payload, err('confirmation_required'))

  const code = await t.lastCode('tybalt@verona.example', 'confirm')
  assertValidReply('verification:verify', await c.request('verification:verify', { verificationID: confirmation.verificationID, code }))
  const account = await t.server.store.accounts.byUsername('tybalt')
  assert.is(account?.status, 'active')
  assert.equal(account?.thirdPIDs, [{ type: 'email', value: 'tybalt@verona.example', verified: true }])
  assertValidReply('profile:login', await c.request('profile:login', { username: 'tybalt', password }))
  // Confirmed: nothing left to confirm.
  assert.equal((await c.request('verification:request', { purpose: 'confirm', thirdPID: 'tybalt@verona.example' })).payload, err('not_found'))
})

test('confirm can be asked for again (by username + channel): the new code replaces the one sent at registration', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:register', { username: 'mercutio', thirdPIDs: [{ type: 'msisdn', value: '+390458005555' }], password })
  assert.is(reply.payload.confirmation.destination, '*'.repeat(11) + '55')
  const first = await t.lastCode('+390458005555', 'confirm')
  const resend = await c.request('verification:request', { purpose: 'confirm', username: 'mercutio', channel: 'msisdn' })
  assertValidReply('verification:request', resend)
  const second = await t.lastCode('+390458005555', 'confirm')
  const stale = await c.request('verification:verify', { verificationID: reply.payload.confirmation.verificationID, code: first })
  assert.equal(stale.payload, err('invalid_code', { attemptsLeft: 0 }))
  assert.is((await t.server.store.accounts.byUsername('mercutio'))?.status, 'pending')
  assertValidReply('verification:verify', await c.request('verification:verify', { verificationID: resend.payload.verificationID, code: second }))
  assert.is((await t.server.store.accounts.byUsername('mercutio'))?.status, 'active')
})

test('verified mode without a 3PID → invalid_payload (nowhere to send the confirmation)', async ({ t }) => {
  const reply = await (await t.connect()).request('profile:register', { username: 'benvolio', password })
  assert.equal(reply.payload, {
    errID: 'invalid_payload',
    errText: errors.invalid_payload,
    errPayload: { errors: [{ path: '/payload/thirdPIDs', message: 'is required: the confirmation code is sent to one' }] },
  })
})

test('a pending account not confirmed within pendingTtl frees its username and 3PID', async ({ t, clock }) => {
  const c = await t.connect()
  assert.ok((await c.request('profile:register', { username: 'paris', thirdPIDs: [email('paris@verona.example')], password })).ok)
  assert.equal((await c.request('profile:register', { username: 'paris', thirdPIDs: [email('count@verona.example')], password })).payload, err('id_exists', { field: 'username' }))
  // Its address was never proven, so it reserves nothing even before the account expires.
  assertValidReply('verification:request', await c.request('verification:request', { purpose: 'signup', thirdPID: 'paris@verona.example' }))
  clock.advance(3600_000 + 1)
  // The signup code request purges the expired account that held the address…
  assertValidReply('verification:request', await c.request('verification:request', { purpose: 'signup', thirdPID: 'paris@verona.example' }))
  assert.is(await t.server.store.accounts.byUsername('paris'), undefined)
  // …and the name is free again.
  const again = await c.request('profile:register', { username: 'paris', thirdPIDs: [email('count@verona.example')], password })
  assertValidReply('profile:register', again)
})

test('a registration conflict purges expired pending accounts and succeeds', async ({ t, clock }) => {
  const c = await t.connect()
  assert.ok((await c.request('profile:register', { username: 'balthasar', thirdPIDs: [email('balthasar@verona.example')], password })).ok)
  clock.advance(3600_000 + 1)
  const reply = await c.request('profile:register', { username: 'balthasar', thirdPIDs: [email('balthasar@mantua.example')], password })
  assertValidReply('profile:register', reply)
  assert.equal((await t.server.store.accounts.byUsername('balthasar'))?.thirdPIDs.map((t) => t.value), ['balthasar@mantua.example'])
})

test('accounts.purgePending (the periodic sweep) deletes only pending accounts older than the cutoff', async ({ t, clock }) => {
  const c = await t.connect()
  assert.ok((await c.request('profile:register', { username: 'abram', thirdPIDs: [email('abram@verona.example')], password })).ok)
  const cutoff = clock.now()
  clock.advance(10)
  assert.ok((await c.request('profile:register', { username: 'sampson', thirdPIDs: [email('sampson@verona.example')], password })).ok)
  assert.ok((await t.server.store.accounts.purgePending(cutoff + 1)) >= 1)
  assert.is(await t.server.store.accounts.byUsername('abram'), undefined)
  assert.is((await t.server.store.accounts.byUsername('sampson'))?.status, 'pending')
  assert.is((await t.server.store.accounts.byUsername('juliet'))?.status, 'active')
})

test.run()

// ─── "open" mode ───────────────────────────────────────────────────────────────────────────────
const open = suite<{ t: CodeServer }>('registration with codes (mode open)')
open.before(async (ctx) => {
  ctx.t = await startCodeServer()
})
open.after(async (ctx) => ctx.t.close())

open('a signup token verifies the 3PID; without one the account is active but its 3PID unverified, and no code is sent', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'signup', thirdPID: '+390458001234' }, '+390458001234')
  assert.ok((await c.request('profile:register', { thirdPIDs: [{ type: 'msisdn', value: '+390458001234' }], verificationToken: token })).ok)
  assert.ok((await c.request('profile:register', { username: 'romeo', thirdPIDs: [email('romeo@verona.example')], password })).ok)
  const romeo = await t.server.store.accounts.byUsername('romeo')
  assert.equal([romeo?.status, romeo?.thirdPIDs[0]?.verified], ['active', false])
  assert.equal((await t.sent()).map((m) => m.purpose), ['signup'])
})

open.run()
