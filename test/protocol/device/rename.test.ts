// device:rename over real sockets: any of the account's devices; not_found for anyone else's.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('device:rename')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) {
    const reg = await c.request('profile:register', { username, password })
    assert.ok(reg.ok, JSON.stringify(reg))
  }
})
test.after(async (ctx) => ctx.t.close())

async function login(t: TestServer, username: string) {
  const client = await t.connect()
  const reply = await client.request('profile:login', { username, password, deviceName: 'old name' })
  assert.ok(reply.ok, JSON.stringify(reply))
  return { client, ...(reply.payload as { authToken: string; deviceID: string; userID: string }) }
}

const names = async (client: Awaited<ReturnType<typeof login>>['client']) =>
  Object.fromEntries((await client.request('device:list', {})).payload.devices.map((d: { deviceID: string; name: string }) => [d.deviceID, d.name]))

test('renames the current device and another device of the account', async ({ t }) => {
  const me = await login(t, 'juliet')
  const other = await login(t, 'juliet')
  const reply = await me.client.request('device:rename', { deviceID: me.deviceID, name: 'Juliet’s phone 📱' })
  assertValidReply('device:rename', reply)
  assert.equal(reply.payload, {})
  assert.is((await me.client.request('device:rename', { deviceID: other.deviceID, name: 'laptop' })).ok, true)
  assert.equal(await names(me.client), { [me.deviceID]: 'Juliet’s phone 📱', [other.deviceID]: 'laptop' })
})

test('not_found for an unknown device or another account\'s device', async ({ t }) => {
  const me = await login(t, 'juliet')
  const stranger = await login(t, 'romeo')
  const notFound = { errID: 'not_found', errText: errors.not_found }
  assert.equal((await me.client.request('device:rename', { deviceID: 'ZZZZZZZZZZ', name: 'x' })).payload, notFound)
  assert.equal((await me.client.request('device:rename', { deviceID: stranger.deviceID, name: 'mine now' })).payload, notFound)
  assert.equal(await names(stranger.client), { [stranger.deviceID]: 'old name' })
})

test('invalid deviceID or name: invalid_payload', async ({ t }) => {
  const me = await login(t, 'juliet')
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
