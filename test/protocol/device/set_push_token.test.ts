// device:set_push_token over a real socket: stored on the current device only, replaced by a later call.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register } from '../../support/accounts.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('device:set_push_token')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  await register(c, { username: 'juliet', password })
})
test.after(async (ctx) => ctx.t.close())

async function pushTokens(t: TestServer): Promise<Record<string, string | null>> {
  const { store } = t.server.deps
  const account = await store.accounts.byUsername('juliet')
  return Object.fromEntries((await store.devices.list(account!.id)).map((d) => [d.id, d.pushToken]))
}

test('sets and replaces the push token of the current device only', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const other = await login(t, { username: 'juliet', password })
  const reply = await me.client.request('device:set_push_token', { pushToken: 'fcm:abc123' })
  assertValidReply('device:set_push_token', reply)
  assert.equal(reply.payload, {})
  assert.is(reply.to, '@juliet@localhost')
  let tokens = await pushTokens(t)
  assert.is(tokens[me.deviceID], 'fcm:abc123')
  assert.is(tokens[other.deviceID], null)

  const long = 'x'.repeat(255)
  assert.is((await me.client.request('device:set_push_token', { pushToken: long })).ok, true)
  tokens = await pushTokens(t)
  assert.is(tokens[me.deviceID], long)
})

test('1..255 characters, nothing else: invalid_payload', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  for (const payload of [{ pushToken: '' }, { pushToken: 'x'.repeat(256) }, { pushToken: 42 }, {}, { pushToken: 'a', deviceID: me.deviceID }]) {
    assert.is((await me.client.request('device:set_push_token', payload)).payload.errID, 'invalid_payload', JSON.stringify(payload))
  }
  assert.is((await pushTokens(t))[me.deviceID], null)
})

test('needs an authenticated connection', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('device:set_push_token', { pushToken: 'apns:1' })).payload, { errID: 'auth_required', errText: errors.auth_required })
})

test.run()
