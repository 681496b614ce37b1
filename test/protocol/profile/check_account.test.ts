// profile:check_account over a real socket: by username, email and msisdn; unknown, invalid, passwordless, disabled.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { disable, register } from '../../support/accounts.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const test = suite<{ t: TestServer }>('profile:check_account')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  await register(c, {
    username: 'juliet',
    password: 'romeo-montague',
    thirdPIDs: [
      { type: 'email', value: 'juliet@capulet.com' },
      { type: 'msisdn', value: '+1234567890' },
    ],
  })
  // No message creates a passwordless account yet (verification tokens arrive later); the store can.
  await ctx.t.server.deps.store.accounts.create({
    id: 'nopassword000001',
    username: 'rosaline',
    userID: '@rosaline@localhost',
    passwordHash: null,
    status: 'active',
    profile: {},
    thirdPIDs: [{ type: 'email', value: 'rosaline@verona.example', verified: true }],
    now: 0,
  })
  await register(c, { username: 'tybalt', password: 'prince-of-cats' })
  await disable(ctx.t, 'tybalt')
})
test.after(async (ctx) => ctx.t.close())

async function check(t: TestServer, loginID: string) {
  const c = await t.connect()
  const reply = await c.request('profile:check_account', { loginID })
  assertValidReply('profile:check_account', reply)
  return reply.payload
}

test('by username, case-folded', async ({ t }) => {
  assert.equal(await check(t, 'Juliet'), { exists: true, accountType: 'username', hasPassword: true })
})

test('by email, case-insensitively', async ({ t }) => {
  assert.equal(await check(t, 'JULIET@Capulet.com'), { exists: true, accountType: 'email', hasPassword: true })
})

test('by msisdn, with the punctuation people type', async ({ t }) => {
  assert.equal(await check(t, '+1234567890'), { exists: true, accountType: 'msisdn', hasPassword: true })
  assert.equal(await check(t, '+1 (234) 567-890'), { exists: true, accountType: 'msisdn', hasPassword: true })
})

test('unknown identifiers: exists false, with their kind and no hasPassword', async ({ t }) => {
  assert.equal(await check(t, 'mercutio'), { exists: false, accountType: 'username' })
  assert.equal(await check(t, 'mercutio@capulet.com'), { exists: false, accountType: 'email' })
  assert.equal(await check(t, '+4915112345678'), { exists: false, accountType: 'msisdn' })
})

test('a loginID that is no valid identifier of any kind cannot exist', async ({ t }) => {
  for (const loginID of ['not a name!', 'a@b', '+12', '@']) assert.equal(await check(t, loginID), { exists: false }, loginID)
})

test('hasPassword is false for an account without a password', async ({ t }) => {
  assert.equal(await check(t, 'rosaline'), { exists: true, accountType: 'username', hasPassword: false })
  assert.equal(await check(t, 'rosaline@verona.example'), { exists: true, accountType: 'email', hasPassword: false })
})

test('a disabled account still exists (its identifiers are taken)', async ({ t }) => {
  assert.equal(await check(t, 'tybalt'), { exists: true, accountType: 'username', hasPassword: true })
})

test('a missing or empty loginID is invalid_payload', async ({ t }) => {
  const c = await t.connect()
  const empty = await c.request('profile:check_account', { loginID: '' })
  assert.equal(empty.payload, {
    errID: 'invalid_payload',
    errText: 'The payload does not match the schema of this message type',
    errPayload: { errors: [{ path: '/payload/loginID', message: 'must NOT have fewer than 1 characters' }] },
  })
  assert.is((await c.request('profile:check_account', {})).payload.errID, 'invalid_payload')
})

test.run()
