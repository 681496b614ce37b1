// profile:bind_thirdpid over real sockets: add or replace a 3PID with a bind code and a sudoToken.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register, sudo, verifyThirdPIDs } from '../../support/accounts.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../../support/codes.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const err = (errID: keyof typeof errors) => ({ errID, errText: errors[errID] })

const test = suite<{ t: CodeServer }>('profile:bind_thirdpid')

test.before(async (ctx) => {
  ctx.t = await startCodeServer()
  const c = await ctx.t.connect()
  await register(c, { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }] })
  await register(c, { username: 'romeo', password, thirdPIDs: [{ type: 'email', value: 'romeo@verona.example' }] })
  // Proven, so they reserve their addresses and receive login codes.
  for (const name of ['juliet', 'romeo']) await verifyThirdPIDs(ctx.t, name)
})
test.after(async (ctx) => ctx.t.close())

const thirdPIDsOf = async (t: CodeServer, username: string) => (await t.server.store.accounts.byUsername(username))?.thirdPIDs

test('adds a phone number (verified), then replaces it with another; the old one is free again', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const token = await obtainToken(t, juliet, { purpose: 'bind', thirdPID: '+390458001234' }, '+390458001234')
  const reply = await juliet.request('profile:bind_thirdpid', { thirdPID: '+39 045 800 1234', verificationToken: token, sudoToken: await sudo(juliet, password) })
  assertValidReply('profile:bind_thirdpid', reply)
  assert.equal(reply.payload, {})
  assert.equal(await thirdPIDsOf(t, 'juliet'), [
    { type: 'email', value: 'juliet@verona.example', verified: true },
    { type: 'msisdn', value: '+390458001234', verified: true },
  ])
  const next = await obtainToken(t, juliet, { purpose: 'bind', thirdPID: '+390458009999' }, '+390458009999')
  assert.ok((await juliet.request('profile:bind_thirdpid', { thirdPID: '+390458009999', verificationToken: next, sudoToken: await sudo(juliet, password) })).ok)
  assert.equal((await thirdPIDsOf(t, 'juliet'))?.map((p) => p.value), ['juliet@verona.example', '+390458009999'])
  assert.ok((await (await t.connect()).request('verification:request', { purpose: 'signup', thirdPID: '+390458001234' })).ok)
  // The new number logs in.
  assert.ok((await (await t.connect()).request('profile:login', { thirdPID: '+390458009999', password })).ok)
})

test('changes the email; tokens won through the old one die with it', async ({ t }) => {
  const { client: romeo } = await login(t, { username: 'romeo', password })
  const old = await obtainToken(t, romeo, { purpose: 'login', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
  const token = await obtainToken(t, romeo, { purpose: 'bind', thirdPID: 'romeo@montague.example' }, 'romeo@montague.example')
  assert.ok((await romeo.request('profile:bind_thirdpid', { thirdPID: 'romeo@montague.example', verificationToken: token, sudoToken: await sudo(romeo, password) })).ok)
  assert.equal(await thirdPIDsOf(t, 'romeo'), [{ type: 'email', value: 'romeo@montague.example', verified: true }])
  assert.equal((await (await t.connect()).request('profile:login', { thirdPID: 'romeo@verona.example', password })).payload.errID, 'invalid_creds')
  assert.equal((await (await t.connect()).request('profile:login', { username: 'romeo', verificationToken: old })).payload, err('invalid_token'))
})

test('without a valid sudoToken → sudo_required, and the verificationToken is kept', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const token = await obtainToken(t, juliet, { purpose: 'bind', thirdPID: 'juliet@capulet.example' }, 'juliet@capulet.example')
  assert.equal((await juliet.request('profile:bind_thirdpid', { thirdPID: 'juliet@capulet.example', verificationToken: token })).payload, err('sudo_required'))
  const bogus = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
  assert.equal((await juliet.request('profile:bind_thirdpid', { thirdPID: 'juliet@capulet.example', verificationToken: token, sudoToken: bogus })).payload, err('sudo_required'))
  assert.ok((await juliet.request('profile:bind_thirdpid', { thirdPID: 'juliet@capulet.example', verificationToken: token, sudoToken: await sudo(juliet, password) })).ok)
})

test('a token of another purpose, another 3PID or another account → invalid_token, and the sudoToken is kept', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const { client: romeo } = await login(t, { username: 'romeo', password })
  const sudoToken = await sudo(juliet, password)
  const login_ = await obtainToken(t, juliet, { purpose: 'login', username: 'juliet', channel: 'email' }, 'juliet@capulet.example')
  assert.equal((await juliet.request('profile:bind_thirdpid', { thirdPID: 'juliet@capulet.example', verificationToken: login_, sudoToken })).payload, err('invalid_token'))
  const romeos = await obtainToken(t, romeo, { purpose: 'bind', thirdPID: 'balcony@verona.example' }, 'balcony@verona.example')
  assert.equal((await juliet.request('profile:bind_thirdpid', { thirdPID: 'balcony@verona.example', verificationToken: romeos, sudoToken })).payload, err('invalid_token'))
  const mine = await obtainToken(t, juliet, { purpose: 'bind', thirdPID: 'nurse@verona.example' }, 'nurse@verona.example')
  assert.equal((await juliet.request('profile:bind_thirdpid', { thirdPID: 'garden@verona.example', verificationToken: mine, sudoToken })).payload, err('invalid_token'))
  assert.ok((await juliet.request('profile:bind_thirdpid', { thirdPID: 'nurse@verona.example', verificationToken: mine, sudoToken })).ok)
  assert.equal((await juliet.request('profile:bind_thirdpid', { thirdPID: 'nurse@verona.example', verificationToken: mine, sudoToken: await sudo(juliet, password) })).payload, err('invalid_token'))
})

test('another account proved the 3PID after the code was sent → id_exists', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const token = await obtainToken(t, juliet, { purpose: 'bind', thirdPID: 'tomb@verona.example' }, 'tomb@verona.example')
  const paris = await t.connect()
  const signup = await obtainToken(t, paris, { purpose: 'signup', thirdPID: 'tomb@verona.example' }, 'tomb@verona.example')
  await register(paris, { username: 'paris', password, verificationToken: signup, thirdPIDs: [{ type: 'email', value: 'tomb@verona.example' }] })
  assert.equal((await juliet.request('profile:bind_thirdpid', { thirdPID: 'tomb@verona.example', verificationToken: token, sudoToken: await sudo(juliet, password) })).payload, err('id_exists'))
})

test('anonymous → auth_required; a malformed 3PID → invalid_payload', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('profile:bind_thirdpid', { thirdPID: 'x@verona.example', verificationToken: 'abc' })).payload, err('auth_required'))
  const { client: juliet } = await login(t, { username: 'juliet', password })
  assert.equal((await juliet.request('profile:bind_thirdpid', { thirdPID: 'juliet', verificationToken: 'abc' })).payload.errPayload, {
    errors: [{ path: '/payload/thirdPID', message: 'is not a valid email address or phone number' }],
  })
})

test.run()
