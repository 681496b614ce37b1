// profile:check_username over a real socket: free, taken (any case, any status) and invalid names.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { disable, register } from '../../support/accounts.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const test = suite<{ t: TestServer }>('profile:check_username')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  await register(c, { username: 'juliet', password: 'romeo-montague' })
  await register(c, { username: 'tybalt', password: 'prince-of-cats' })
  await disable(ctx.t, 'tybalt')
})
test.after(async (ctx) => ctx.t.close())

test('a free name is available', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:check_username', { username: 'Mercutio' })
  assertValidReply('profile:check_username', reply)
  assert.equal(reply.payload, { available: true })
})

test('a taken name is not available, in any case', async ({ t }) => {
  const c = await t.connect()
  for (const username of ['juliet', 'JULIET', 'JuLiEt']) {
    const reply = await c.request('profile:check_username', { username })
    assertValidReply('profile:check_username', reply)
    assert.equal(reply.payload, { available: false }, username)
  }
})

test('a disabled account keeps its name reserved', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('profile:check_username', { username: 'tybalt' })).payload, { available: false })
})

test('a name that is not valid after case folding is invalid_payload', async ({ t }) => {
  const c = await t.connect()
  // Space, fullwidth J (U+FF2A), KELVIN SIGN (folds onto ASCII k), empty, 65 characters.
  for (const username of ['jul iet', '\uFF2Aaliet', '\u212Aate', '', 'a'.repeat(65)]) {
    const reply = await c.request('profile:check_username', { username })
    assert.is(reply.ok, false, username)
    assert.is(reply.payload.errID, 'invalid_payload', username)
    assert.is(reply.payload.errPayload.errors[0].path, '/payload/username', username)
  }
  const missing = await c.request('profile:check_username', {})
  assert.equal(missing.payload.errPayload.errors, [{ path: '/payload/username', message: "must have required property 'username'" }])
})

test.run()
