// profile:sudo with a verificationToken (purpose sudo): a code to the caller's own 3PID instead of the password.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register } from '../../support/accounts.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../../support/codes.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const invalidCreds = { errID: 'invalid_creds', errText: errors.invalid_creds }

const test = suite<{ t: CodeServer }>('profile:sudo with a verificationToken')

test.before(async (ctx) => {
  ctx.t = await startCodeServer()
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) {
    await register(c, { username, password, thirdPIDs: [{ type: 'email', value: `${username}@verona.example` }] })
  }
})
test.after(async (ctx) => ctx.t.close())

test('a sudo code to the own email → a sudoToken that works (set_password); the verificationToken serves once', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const token = await obtainToken(t, juliet, { purpose: 'sudo', channel: 'email' }, 'juliet@verona.example')
  const reply = await juliet.request('profile:sudo', { verificationToken: token })
  assertValidReply('profile:sudo', reply)
  assertValidReply('profile:set_password', await juliet.request('profile:set_password', { newPassword: 'capulet-garden-9', sudoToken: reply.payload.sudoToken }))
  assert.equal((await juliet.request('profile:sudo', { verificationToken: token })).payload, invalidCreds)
  // Back to the shared password for the other tests.
  const again = await juliet.request('profile:sudo', { password: 'capulet-garden-9' })
  assert.ok((await juliet.request('profile:set_password', { newPassword: password, sudoToken: again.payload.sudoToken })).ok)
})

test('another account’s sudo token → invalid_creds', async ({ t }) => {
  const { client: romeo } = await login(t, { username: 'romeo', password })
  const token = await obtainToken(t, romeo, { purpose: 'sudo', channel: 'email' }, 'romeo@verona.example')
  const { client: juliet } = await login(t, { username: 'juliet', password })
  assert.equal((await juliet.request('profile:sudo', { verificationToken: token })).payload, invalidCreds)
  // Still good for its owner.
  assertValidReply('profile:sudo', await romeo.request('profile:sudo', { verificationToken: token }))
})

test('a token of another purpose (login) → invalid_creds', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const token = await obtainToken(t, juliet, { purpose: 'login', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  assert.equal((await juliet.request('profile:sudo', { verificationToken: token })).payload, invalidCreds)
})

test.run()
