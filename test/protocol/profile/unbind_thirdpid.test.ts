// profile:unbind_thirdpid over real sockets: remove a 3PID (sudo), never leaving an account with no way in.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register, sudo } from '../../support/accounts.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../../support/codes.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const err = (errID: keyof typeof errors) => ({ errID, errText: errors[errID] })

const test = suite<{ t: CodeServer }>('profile:unbind_thirdpid')

test.before(async (ctx) => {
  ctx.t = await startCodeServer()
  const c = await ctx.t.connect()
  const both = [
    { type: 'email', value: 'juliet@verona.example' },
    { type: 'msisdn', value: '+390458001234' },
  ]
  await register(c, { username: 'juliet', password, thirdPIDs: both })
  await register(c, { username: 'romeo', password, thirdPIDs: [{ type: 'email', value: 'romeo@verona.example' }] })
  // No username: the email is the only name its password can be used with.
  await register(c, { password, thirdPIDs: [{ type: 'email', value: 'nurse@verona.example' }] })
})
test.after(async (ctx) => ctx.t.close())

test('removes a 3PID; it no longer logs in and is free for others', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const reply = await juliet.request('profile:unbind_thirdpid', { thirdPID: '+39 045 800 1234', sudoToken: await sudo(juliet, password) })
  assertValidReply('profile:unbind_thirdpid', reply)
  assert.equal(reply.payload, {})
  assert.equal((await t.server.store.accounts.byUsername('juliet'))?.thirdPIDs.map((p) => p.value), ['juliet@verona.example'])
  assert.is((await (await t.connect()).request('profile:login', { thirdPID: '+390458001234', password })).payload.errID, 'invalid_creds')
  assert.ok((await (await t.connect()).request('verification:request', { purpose: 'signup', thirdPID: '+390458001234' })).ok)
})

test('its live codes go with it', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const sudoToken = await sudo(juliet, password)
  const bound = await obtainToken(t, juliet, { purpose: 'bind', thirdPID: '+390458001234' }, '+390458001234')
  assert.ok((await juliet.request('profile:bind_thirdpid', { thirdPID: '+390458001234', verificationToken: bound, sudoToken })).ok)
  const asked = await juliet.request('verification:request', { purpose: 'login', thirdPID: '+390458001234' })
  const code = await t.lastCode('+390458001234', 'login')
  assert.ok((await juliet.request('profile:unbind_thirdpid', { thirdPID: '+390458001234', sudoToken: await sudo(juliet, password) })).ok)
  assert.equal((await juliet.request('verification:verify', { verificationID: asked.payload.verificationID, code })).payload.errPayload, { attemptsLeft: 0 })
})

test("the owner's profile view, kept with the cached account (profile-view.ts), follows a bind and an unbind", async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const own = async () => (await juliet.request('profile:get', {})).payload as Record<string, unknown>
  // Three times before the first write: the row is cached on its second read (src/store/admission.ts), the
  // third is served from the view kept with it. After a write the next read caches the row again at once.
  for (let i = 0; i < 3; i++) assert.is((await own()).phone_number, undefined)
  const sudoToken = await sudo(juliet, password)
  const bound = await obtainToken(t, juliet, { purpose: 'bind', thirdPID: '+390458005555' }, '+390458005555')
  assert.ok((await juliet.request('profile:bind_thirdpid', { thirdPID: '+390458005555', verificationToken: bound, sudoToken })).ok)
  for (let i = 0; i < 2; i++) assert.is((await own()).phone_number, '+390458005555', 'after the bind')
  assert.ok((await juliet.request('profile:unbind_thirdpid', { thirdPID: '+390458005555', sudoToken })).ok)
  assert.is((await own()).phone_number, undefined, 'after the unbind')
  assert.is((await own()).email, 'juliet@verona.example')
})

test('a 3PID not bound to the caller → not_found (and the sudoToken is kept)', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const sudoToken = await sudo(juliet, password)
  assert.equal((await juliet.request('profile:unbind_thirdpid', { thirdPID: 'romeo@verona.example', sudoToken })).payload, err('not_found'))
  assert.equal((await juliet.request('profile:unbind_thirdpid', { thirdPID: 'nobody@verona.example', sudoToken })).payload, err('not_found'))
  assert.ok((await juliet.request('profile:set_password', { newPassword: password, sudoToken })).ok)
})

test('the last 3PID of an account with a password and a username may go: the username still names it', async ({ t }) => {
  const { client: romeo } = await login(t, { username: 'romeo', password })
  assert.ok((await romeo.request('profile:unbind_thirdpid', { thirdPID: 'romeo@verona.example', sudoToken: await sudo(romeo, password) })).ok)
  assert.ok((await (await t.connect()).request('profile:login', { username: 'romeo', password })).ok)
})

test('the last 3PID of an account without a username → forbidden (nothing would name it)', async ({ t }) => {
  const { client: nurse } = await login(t, { thirdPID: 'nurse@verona.example', password })
  const reply = await nurse.request('profile:unbind_thirdpid', { thirdPID: 'nurse@verona.example', sudoToken: await sudo(nurse, password) })
  assert.equal(reply.payload, err('forbidden'))
})

test('the last 3PID of an account without a password → forbidden (codes are its only way in)', async ({ t }) => {
  const c = await t.connect()
  const signup = await obtainToken(t, c, { purpose: 'signup', thirdPID: 'friar@verona.example' }, 'friar@verona.example')
  await register(c, { username: 'friar', thirdPIDs: [{ type: 'email', value: 'friar@verona.example' }], verificationToken: signup })
  const login = await obtainToken(t, c, { purpose: 'login', thirdPID: 'friar@verona.example' }, 'friar@verona.example')
  assert.ok((await c.request('profile:login', { username: 'friar', verificationToken: login })).ok)
  const sudoCode = await obtainToken(t, c, { purpose: 'sudo', channel: 'email' }, 'friar@verona.example')
  const { payload } = await c.request('profile:sudo', { verificationToken: sudoCode })
  assert.equal((await c.request('profile:unbind_thirdpid', { thirdPID: 'friar@verona.example', sudoToken: payload.sudoToken })).payload, err('forbidden'))
  // With a second 3PID bound, the first may go.
  const bind = await obtainToken(t, c, { purpose: 'bind', thirdPID: '+390458007777' }, '+390458007777')
  assert.ok((await c.request('profile:bind_thirdpid', { thirdPID: '+390458007777', verificationToken: bind, sudoToken: payload.sudoToken })).ok)
  assert.ok((await c.request('profile:unbind_thirdpid', { thirdPID: 'friar@verona.example', sudoToken: payload.sudoToken })).ok)
})

test('without a password, an unproven second 3PID is no way in: the proven one may not go (forbidden)', async ({ t }) => {
  const c = await t.connect()
  const signup = await obtainToken(t, c, { purpose: 'signup', thirdPID: 'abram@verona.example' }, 'abram@verona.example')
  // The phone rides along unproven: no login code would go there.
  await register(c, { username: 'abram', thirdPIDs: [{ type: 'email', value: 'abram@verona.example' }, { type: 'msisdn', value: '+390458006666' }], verificationToken: signup })
  const login = await obtainToken(t, c, { purpose: 'login', thirdPID: 'abram@verona.example' }, 'abram@verona.example')
  assert.ok((await c.request('profile:login', { username: 'abram', verificationToken: login })).ok)
  const sudoCode = await obtainToken(t, c, { purpose: 'sudo', channel: 'email' }, 'abram@verona.example')
  const { payload } = await c.request('profile:sudo', { verificationToken: sudoCode })
  assert.equal((await c.request('profile:unbind_thirdpid', { thirdPID: 'abram@verona.example', sudoToken: payload.sudoToken })).payload, err('forbidden'))
})

test('without a valid sudoToken → sudo_required; anonymous → auth_required', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  assert.equal((await juliet.request('profile:unbind_thirdpid', { thirdPID: 'juliet@verona.example' })).payload, err('sudo_required'))
  assert.equal((await (await t.connect()).request('profile:unbind_thirdpid', { thirdPID: 'juliet@verona.example' })).payload, err('auth_required'))
})

test.run()
