// profile:contact_hint over a real socket: blurred contacts, nulls, unknown and disabled accounts.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { disable, register } from '../../support/accounts.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const test = suite<{ t: TestServer }>('profile:contact_hint')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  await register(c, {
    username: 'juliet',
    password: 'romeo-montague',
    thirdPIDs: [
      { type: 'email', value: 'Juliet@Capulet.com' },
      { type: 'msisdn', value: '+1234567890' },
    ],
  })
  await register(c, { username: 'romeo', password: 'poison-and-dagger' })
  await register(c, { username: 'nurse', password: 'angelica-keys-9', thirdPIDs: [{ type: 'email', value: 'nurse@capulet.com' }] })
  await register(c, { username: 'tybalt', password: 'prince-of-cats', thirdPIDs: [{ type: 'email', value: 'tybalt@capulet.com' }] })
  await disable(ctx.t, 'tybalt')
})
test.after(async (ctx) => ctx.t.close())

test('blurs the email and the phone number', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:contact_hint', { username: 'JULIET' })
  assertValidReply('profile:contact_hint', reply)
  assert.equal(reply.payload, { email: 'ju*****@*****.com', msisdn: '*********90' })
})

test('null where no contact is bound', async ({ t }) => {
  const c = await t.connect()
  const none = await c.request('profile:contact_hint', { username: 'romeo' })
  assertValidReply('profile:contact_hint', none)
  assert.equal(none.payload, { email: null, msisdn: null })
  const emailOnly = await c.request('profile:contact_hint', { username: 'nurse' })
  assert.equal(emailOnly.payload, { email: 'nu*****@*****.com', msisdn: null })
})

test('not_found for an unknown username and for a disabled account', async ({ t }) => {
  const c = await t.connect()
  const unknown = await c.request('profile:contact_hint', { username: 'mercutio' })
  assert.equal(unknown.payload, { errID: 'not_found', errText: 'Not found' })
  const disabled = await c.request('profile:contact_hint', { username: 'tybalt' })
  assert.equal(disabled.payload, unknown.payload)
})

test('an invalid username is invalid_payload', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:contact_hint', { username: 'juliet@capulet.com' })
  assert.is(reply.payload.errID, 'invalid_payload')
  assert.is(reply.payload.errPayload.errors[0].path, '/payload/username')
})

test.run()
