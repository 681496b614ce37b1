// Pre-account hijacking through unverified 3PIDs (audit issue 11 §4; OWASP ASVS V6, Sudhodanan & Paverd
// 2022): an address nobody proved neither reserves itself nor opens the account by code, and a reset by
// a proven address leaves the attacker nothing.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { login, register, requestOk } from '../support/accounts.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../support/codes.ts'

const password = 'balcony-scene-2'
const mallorys = 'poisoned-cup-77'
const victim = 'jc@capulet.example'
const malloryPhone = '+15550009999'
const err = (errID: keyof typeof errors) => ({ errID, errText: errors[errID] })

const test = suite<{ t: CodeServer }>('hardening: unverified 3PIDs')
test.before.each(async (ctx) => {
  ctx.t = await startCodeServer()
})
test.after.each(async (ctx) => ctx.t.close())

/** The reply's own profile (the owner's view): which 3PIDs the account holds. */
async function contacts(t: CodeServer, payload: object): Promise<{ email?: string; phone_number?: string }> {
  const { client } = await login(t, payload)
  const { email, phone_number } = (await requestOk(client, 'profile:get')).payload
  return { ...(email && { email }), ...(phone_number && { phone_number }) }
}

test('the issue’s attack: the victim registers their own address; the squatter can use neither', async ({ t }) => {
  const c = await t.connect()
  // The attacker registers with the victim's email and their own phone, proving neither.
  await register(c, { username: 'mallory', password: mallorys, thirdPIDs: [{ type: 'email', value: victim }, { type: 'msisdn', value: malloryPhone }] })
  // Before the victim registers, the squatted address opens nothing: no reset, no code login through it.
  assert.equal((await c.request('verification:request', { purpose: 'reset_password', thirdPID: victim })).payload, err('not_found'))
  assert.equal((await c.request('verification:request', { purpose: 'login', thirdPID: victim })).payload, err('not_found'))
  // The victim registers with their address: it was id_exists; now the unproven claim is dropped.
  const reply = await c.request('profile:register', { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: victim }] })
  assert.ok(reply.ok, JSON.stringify(reply))
  assert.equal(await contacts(t, { username: 'mallory', password: mallorys }), { phone_number: malloryPhone })
  assert.equal(await contacts(t, { thirdPID: victim, password }), { email: victim })
  // The attacker's unproven phone cannot log in by code either (it is not proven to be anyone's).
  assert.equal((await c.request('verification:request', { purpose: 'login', thirdPID: malloryPhone })).payload, err('not_found'))
  assert.equal((await c.request('verification:request', { purpose: 'login', username: 'mallory', channel: 'msisdn' })).payload, err('not_found'))
})

test('a proven address still reserves itself: registration and binding elsewhere → id_exists', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'signup', thirdPID: victim }, victim)
  await register(c, { username: 'juliet', password, verificationToken: token, thirdPIDs: [{ type: 'email', value: victim }] })
  const squat = await c.request('profile:register', { username: 'mallory', password: mallorys, thirdPIDs: [{ type: 'email', value: victim }] })
  assert.is(squat.payload.errID, 'id_exists')
  assert.is((await c.request('verification:request', { purpose: 'signup', thirdPID: victim })).payload.errID, 'id_exists')
  await register(c, { username: 'mallory', password: mallorys })
  const { client } = await login(t, { username: 'mallory', password: mallorys })
  assert.is((await client.request('verification:request', { purpose: 'bind', thirdPID: victim })).payload.errID, 'id_exists')
})

test('a verified binding takes an unproven claim from another account', async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'mallory', password: mallorys, thirdPIDs: [{ type: 'email', value: victim }] })
  await register(c, { username: 'juliet', password })
  const { client } = await login(t, { username: 'juliet', password })
  const token = await obtainToken(t, client, { purpose: 'bind', thirdPID: victim }, victim)
  const sudoToken = (await requestOk(client, 'profile:sudo', { password })).payload.sudoToken
  await requestOk(client, 'profile:bind_thirdpid', { thirdPID: victim, verificationToken: token, sudoToken })
  assert.equal(await contacts(t, { username: 'mallory', password: mallorys }), {})
  assert.equal(await contacts(t, { username: 'juliet', password }), { email: victim })
})

test('a reset by a proven address drops every unproven 3PID and revokes every device', async ({ t }) => {
  const c = await t.connect()
  const signup = await obtainToken(t, c, { purpose: 'signup', thirdPID: victim }, victim)
  // The phone rides along unproven: the signup token proves only the email.
  await register(c, { username: 'juliet', password, verificationToken: signup, thirdPIDs: [{ type: 'email', value: victim }, { type: 'msisdn', value: malloryPhone }] })
  const device = await login(t, { username: 'juliet', password })
  const reset = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: victim }, victim)
  await requestOk(c, 'profile:reset_password', { thirdPID: victim, verificationToken: reset, newPassword: 'capulet-garden-9' })
  assert.is((await device.client.nextEvent('profile:session_revoked')).payload.reason, 'password_changed')
  assert.equal(await contacts(t, { username: 'juliet', password: 'capulet-garden-9' }), { email: victim })
})

const verified = suite<{ t: CodeServer }>('hardening: unverified 3PIDs in registration.mode "verified"')
verified.before(async (ctx) => {
  ctx.t = await startCodeServer({ registration: { mode: 'verified' } })
})
verified.after(async (ctx) => ctx.t.close())

verified('a signup token for the registrant’s own email does not bind an unproven phone', async ({ t }) => {
  const c = await t.connect()
  const token = await obtainToken(t, c, { purpose: 'signup', thirdPID: 'mallory@montague.example' }, 'mallory@montague.example')
  const reply = await c.request('profile:register', {
    username: 'mallory',
    password: mallorys,
    verificationToken: token,
    thirdPIDs: [{ type: 'email', value: 'mallory@montague.example' }, { type: 'msisdn', value: '+15550002222' }],
  })
  assert.equal(reply.payload.confirmationRequired, false, JSON.stringify(reply))
  // The phone stays unproven: no code login through it, and its owner can still register with it.
  assert.equal((await c.request('verification:request', { purpose: 'login', thirdPID: '+15550002222' })).payload, err('not_found'))
  const phoneToken = await obtainToken(t, c, { purpose: 'signup', thirdPID: '+15550002222' }, '+15550002222')
  await register(c, { username: 'juliet', password, verificationToken: phoneToken, thirdPIDs: [{ type: 'msisdn', value: '+15550002222' }] })
  assert.equal(await contacts(t, { username: 'mallory', password: mallorys }), { email: 'mallory@montague.example' })
})

test.run()
verified.run()
