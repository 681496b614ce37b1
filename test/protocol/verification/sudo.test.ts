// profile:sudo with a verificationToken (purpose sudo): a code to the caller's own 3PID instead of the password.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import type { TestClient } from '../../support/client.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../../support/codes.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const invalidCreds = { errID: 'invalid_creds', errText: errors.invalid_creds }

const test = suite<{ t: CodeServer }>('profile:sudo with a verificationToken')

test.before(async (ctx) => {
  ctx.t = await startCodeServer()
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) {
    assert.ok((await c.request('profile:register', { username, password, thirdPIDs: [{ type: 'email', value: `${username}@verona.example` }] })).ok)
  }
})
test.after(async (ctx) => ctx.t.close())

async function login(t: CodeServer, username: string): Promise<TestClient> {
  const client = await t.connect()
  assert.ok((await client.request('profile:login', { username, password })).ok)
  return client
}

test('a sudo code to the own email → a sudoToken that works (set_password); the verificationToken serves once', async ({ t }) => {
  const juliet = await login(t, 'juliet')
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
  const romeo = await login(t, 'romeo')
  const token = await obtainToken(t, romeo, { purpose: 'sudo', channel: 'email' }, 'romeo@verona.example')
  const juliet = await login(t, 'juliet')
  assert.equal((await juliet.request('profile:sudo', { verificationToken: token })).payload, invalidCreds)
  // Still good for its owner.
  assertValidReply('profile:sudo', await romeo.request('profile:sudo', { verificationToken: token }))
})

test('a token of another purpose (login) → invalid_creds', async ({ t }) => {
  const juliet = await login(t, 'juliet')
  const token = await obtainToken(t, juliet, { purpose: 'login', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  assert.equal((await juliet.request('profile:sudo', { verificationToken: token })).payload, invalidCreds)
})

test.run()
