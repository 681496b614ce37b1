// verificationTokens: bound to purpose, 3PID and account; single use; 600 s lifetime; stored only hashed.
import { storedRows } from '../../support/engine.ts'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { register, verifyThirdPIDs } from '../../support/accounts.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../../support/codes.ts'
import { manualClock } from '../../support/server.ts'

const password = 'balcony-scene-2'
const newPassword = 'capulet-garden-9'
const invalidToken = { errID: 'invalid_token', errText: errors.invalid_token }

const test = suite<{ t: CodeServer; clock: ReturnType<typeof manualClock> }>('verification tokens')

test.before(async (ctx) => {
  ctx.clock = manualClock()
  ctx.t = await startCodeServer({}, { clock: ctx.clock })
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) {
    await register(c, { username, password, thirdPIDs: [{ type: 'email', value: `${username}@verona.example` }] })
    await verifyThirdPIDs(ctx.t, username) // codes go only to proven addresses
  }
})
test.after(async (ctx) => ctx.t.close())

test('each purpose’s token is refused by every other flow', async ({ t }) => {
  const c = await t.connect()
  const juliet = 'juliet@verona.example'
  const signup = await obtainToken(t, c, { purpose: 'signup', thirdPID: 'nurse@verona.example' }, 'nurse@verona.example')
  const login = await obtainToken(t, c, { purpose: 'login', thirdPID: juliet }, juliet)
  const reset = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: juliet }, juliet)
  // A signup token cannot reset a password (nor can a login token), and a reset token cannot log in.
  assert.equal((await c.request('profile:reset_password', { thirdPID: 'nurse@verona.example', verificationToken: signup, newPassword })).payload, invalidToken)
  assert.equal((await c.request('profile:reset_password', { thirdPID: juliet, verificationToken: signup, newPassword })).payload, invalidToken)
  assert.equal((await c.request('profile:reset_password', { thirdPID: juliet, verificationToken: login, newPassword })).payload, invalidToken)
  assert.equal((await c.request('profile:login', { thirdPID: juliet, verificationToken: reset })).payload, invalidToken)
  assert.equal((await c.request('profile:register', { username: 'x', thirdPIDs: [{ type: 'email', value: juliet }], verificationToken: reset })).payload.errID, 'invalid_token')
  // Each still works where it belongs.
  assert.ok((await c.request('profile:login', { thirdPID: juliet, verificationToken: login })).ok)
  assert.ok((await c.request('profile:reset_password', { thirdPID: juliet, verificationToken: reset, newPassword: password })).ok)
  assert.ok((await c.request('profile:register', { username: 'nurse', thirdPIDs: [{ type: 'email', value: 'nurse@verona.example' }], verificationToken: signup })).ok)
})

test('a token lives 600 s', async ({ t, clock }) => {
  const c = await t.connect()
  const early = await obtainToken(t, c, { purpose: 'login', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
  clock.advance(599_999)
  assert.ok((await c.request('profile:login', { username: 'romeo', verificationToken: early })).ok)
  const late = await obtainToken(t, c, { purpose: 'login', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
  clock.advance(600_000)
  assert.equal((await c.request('profile:login', { username: 'romeo', verificationToken: late })).payload, invalidToken)
})

test('the store keeps only the token’s hash: presenting that hash is refused', async ({ t }) => {
  const c = await t.connect()
  await obtainToken(t, c, { purpose: 'login', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
  const rows = (await storedRows(t.config, "SELECT token_hash FROM verification_tokens WHERE purpose = 'login'")) as { token_hash: Buffer }[]
  assert.ok(rows.length > 0)
  for (const { token_hash } of rows) {
    for (const form of [token_hash.toString('base64url'), token_hash.toString('hex')]) {
      assert.equal((await c.request('profile:login', { username: 'romeo', verificationToken: form })).payload, invalidToken)
    }
  }
})

test.run()
