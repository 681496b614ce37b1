// device:revoke over real sockets: the current device without sudo, others with it; fan-out to the revoked device only.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { auth, login, register, sudo } from '../../support/accounts.ts'
import type { TestClient } from '../../support/client.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('device:revoke')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) {
    await register(c, { username, password })
  }
})
test.after(async (ctx) => ctx.t.close())

const sudoRequired = { errID: 'sudo_required', errText: errors.sudo_required }
const notFound = { errID: 'not_found', errText: errors.not_found }
const revokedEvents = (client: TestClient) => client.events.filter((e) => e.type === 'profile:session_revoked')

test('the current device needs no sudo; this connection ends unauthenticated', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const meToo = await auth(t, me.authToken)
  const reply = await me.client.request('device:revoke', { deviceID: me.deviceID })
  assertValidReply('device:revoke', reply)
  assert.equal(reply.payload, {})
  assert.is(reply.to, undefined)
  for (const client of [me.client, meToo]) {
    const event = await client.nextEvent('profile:session_revoked')
    assert.equal(event.payload, { deviceID: me.deviceID, reason: 'revoked' })
    assert.is((await client.request('device:list', {})).payload.errID, 'auth_required')
  }
  assert.is((await (await t.connect()).request('profile:auth', { authToken: me.authToken })).payload.errID, 'invalid_token')
})

test('another device needs a sudoToken; its sockets are cut, other devices unaffected', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const target = await login(t, { username: 'juliet', password })
  const target2 = await auth(t, target.authToken)
  const bystander = await login(t, { username: 'juliet', password })

  assert.equal((await me.client.request('device:revoke', { deviceID: target.deviceID })).payload, sudoRequired)
  const bogus = await me.client.request('device:revoke', { deviceID: target.deviceID, sudoToken: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
  assert.equal(bogus.payload, sudoRequired)
  assert.is((await target.client.request('device:list', {})).ok, true, 'refusals revoke nothing')

  const reply = await me.client.request('device:revoke', { deviceID: target.deviceID, sudoToken: await sudo(me.client, password) })
  assertValidReply('device:revoke', reply)
  assert.is(reply.to, '@juliet@localhost', 'the revoking connection stays authenticated')

  for (const client of [target.client, target2]) {
    const after = await client.request('device:list', {})
    const events = revokedEvents(client)
    assert.is(events.length, 1, 'session_revoked arrived before the next reply')
    assertValidReply('profile:session_revoked', events[0]!, 'event')
    assert.equal(events[0]!.payload, { deviceID: target.deviceID, reason: 'revoked' })
    assert.is(after.payload.errID, 'auth_required')
  }
  for (const client of [me.client, bystander.client]) {
    assert.is(revokedEvents(client).length, 0)
    assert.is((await client.request('device:list', {})).ok, true)
  }
  const ids = (await me.client.request('device:list', {})).payload.devices.map((d: { deviceID: string }) => d.deviceID)
  assert.ok(!ids.includes(target.deviceID) && ids.includes(bystander.deviceID) && ids.includes(me.deviceID))
  assert.is((await (await t.connect()).request('profile:auth', { authToken: target.authToken })).payload.errID, 'invalid_token')
})

test('a sudoToken revokes one device only once', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const first = await login(t, { username: 'juliet', password })
  const second = await login(t, { username: 'juliet', password })
  const sudoToken = await sudo(me.client, password)
  assert.is((await me.client.request('device:revoke', { deviceID: first.deviceID, sudoToken })).ok, true)
  assert.equal((await me.client.request('device:revoke', { deviceID: second.deviceID, sudoToken })).payload, sudoRequired)
  assert.is((await second.client.request('device:list', {})).ok, true)
})

test('not_found for an unknown or another account\'s device, before sudo and without using the token', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password })
  const stranger = await login(t, { username: 'romeo', password })
  const target = await login(t, { username: 'juliet', password })
  assert.equal((await me.client.request('device:revoke', { deviceID: 'ZZZZZZZZZZ' })).payload, notFound)
  const sudoToken = await sudo(me.client, password)
  assert.equal((await me.client.request('device:revoke', { deviceID: 'ZZZZZZZZZZ', sudoToken })).payload, notFound)
  assert.equal((await me.client.request('device:revoke', { deviceID: stranger.deviceID, sudoToken })).payload, notFound)
  assert.is((await stranger.client.request('device:list', {})).ok, true)
  assert.is(revokedEvents(stranger.client).length, 0)
  // The token was not used up by the refusals.
  assert.is((await me.client.request('device:revoke', { deviceID: target.deviceID, sudoToken })).ok, true)
})

test('invalid deviceID or sudoToken: invalid_payload; anonymous: auth_required', async ({ t }) => {
  const me = await login(t, { username: 'romeo', password })
  for (const payload of [{}, { deviceID: 'short' }, { deviceID: me.deviceID, sudoToken: 'not a token' }, { deviceID: me.deviceID, all: true }]) {
    assert.is((await me.client.request('device:revoke', payload)).payload.errID, 'invalid_payload', JSON.stringify(payload))
  }
  const c = await t.connect()
  assert.equal((await c.request('device:revoke', { deviceID: me.deviceID })).payload, { errID: 'auth_required', errText: errors.auth_required })
})

test.run()
