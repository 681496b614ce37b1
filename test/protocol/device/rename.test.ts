// device:rename over real sockets: any of the account's devices; not_found for anyone else's.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register } from '../../support/accounts.ts'
import type { TestClient } from '../../support/client.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('device:rename')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) {
    await register(c, { username, password })
  }
})
test.after(async (ctx) => ctx.t.close())

const names = async (client: TestClient) =>
  Object.fromEntries((await client.request('device:list', {})).payload.devices.map((d: { deviceID: string; name: string }) => [d.deviceID, d.name]))

test('renames the current device and another device of the account', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password, deviceName: 'old name' })
  const other = await login(t, { username: 'juliet', password, deviceName: 'old name' })
  const reply = await me.client.request('device:rename', { deviceID: me.deviceID, name: 'Juliet’s phone 📱' })
  assertValidReply('device:rename', reply)
  assert.equal(reply.payload, {})
  assert.is((await me.client.request('device:rename', { deviceID: other.deviceID, name: 'laptop' })).ok, true)
  assert.equal(await names(me.client), { [me.deviceID]: 'Juliet’s phone 📱', [other.deviceID]: 'laptop' })
})

test('not_found for an unknown device or another account\'s device', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password, deviceName: 'old name' })
  const stranger = await login(t, { username: 'romeo', password, deviceName: 'old name' })
  const notFound = { errID: 'not_found', errText: errors.not_found }
  assert.equal((await me.client.request('device:rename', { deviceID: 'ZZZZZZZZZZ', name: 'x' })).payload, notFound)
  assert.equal((await me.client.request('device:rename', { deviceID: stranger.deviceID, name: 'mine now' })).payload, notFound)
  assert.equal(await names(stranger.client), { [stranger.deviceID]: 'old name' })
})

test('invalid deviceID or name: invalid_payload', async ({ t }) => {
  const me = await login(t, { username: 'juliet', password, deviceName: 'old name' })
  for (const payload of [
    { deviceID: me.deviceID, name: '' },
    { deviceID: me.deviceID, name: 'x'.repeat(129) },
    { deviceID: me.deviceID.toLowerCase(), name: 'x' },
    { deviceID: me.deviceID },
    { deviceID: me.deviceID, name: 'x', extra: 1 },
  ]) {
    assert.is((await me.client.request('device:rename', payload)).payload.errID, 'invalid_payload', JSON.stringify(payload))
  }
})

test('needs an authenticated connection', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('device:rename', { deviceID: 'ABCDEFGHJK', name: 'x' })).payload, { errID: 'auth_required', errText: errors.auth_required })
})

test.run()
