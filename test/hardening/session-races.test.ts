// Issue 11 item 2: a request in flight must not finish with the authority of a session revoked meanwhile,
// and concurrent password changes with one old password must not all win. Each race is run in its bad
// interleaving (the request held at argon2 while the revocation commits) 50 times.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { auth, login, register, requestOk, sudo } from '../support/accounts.ts'
import type { Reply, TestClient } from '../support/client.ts'
import { holdVerify } from '../support/gate.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const rounds = 50
const authRequired = { errID: 'auth_required', errText: errors.auth_required }

const test = suite<{ t: TestServer }>('hardening: requests in flight across a revocation')
test.before(async (ctx) => {
  ctx.t = await startTestServer()
})
test.after(async (ctx) => ctx.t.close())

/** The request's reply, with the session_revoked event that must have come before it. */
async function revokedThenRefused(client: TestClient, reply: Promise<Reply>, deviceID: string, round: number) {
  const event = await client.nextEvent('profile:session_revoked')
  assert.is(event.payload.deviceID, deviceID, `round ${round}`)
  assert.equal((await reply).payload, authRequired, `round ${round}: answered as the unauthenticated socket it now is`)
}

test(`set_password with the old password, in flight when the owner changes it: auth_required, the owner's password stands (×${rounds})`, async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'juliet', password: 'balcony-0-pass' })
  const owner = await login(t, { username: 'juliet', password: 'balcony-0-pass' })
  for (let round = 0; round < rounds; round++) {
    const old = `balcony-${round}-pass`
    const next = `balcony-${round + 1}-pass`
    const attacker = await login(t, { username: 'juliet', password: old })
    const gate = holdVerify(t, old)
    const attempt = attacker.client.request('profile:set_password', { oldPassword: old, newPassword: `stolen-${round}-pass` })
    await gate.entered
    const sudoToken = await sudo(owner.client, old)
    await requestOk(owner.client, 'profile:set_password', { sudoToken, newPassword: next })
    gate.remove()
    await revokedThenRefused(attacker.client, attempt, attacker.deviceID, round)
    assert.is((await c.request('profile:login', { username: 'juliet', password: `stolen-${round}-pass` })).payload.errID, 'invalid_creds')
  }
  await login(t, { username: 'juliet', password: `balcony-${rounds}-pass` })
})

test(`20 parallel set_password with the same old password: exactly one succeeds (×${rounds})`, async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'romeo', password: 'montague-0-pass' })
  const device = await login(t, { username: 'romeo', password: 'montague-0-pass' })
  // Twenty sockets of one device: none is revoked by another's success, so only the compare-and-swap decides.
  const sockets = [device.client, ...(await Promise.all(Array.from({ length: 19 }, () => auth(t, device.authToken))))]
  let current = 'montague-0-pass'
  for (let round = 0; round < rounds; round++) {
    const gate = holdVerify(t, current, { count: sockets.length })
    const replies = sockets.map((s, i) => s.request('profile:set_password', { oldPassword: current, newPassword: `montague-${round + 1}-${i}` }))
    await gate.entered
    gate.remove()
    const answers = await Promise.all(replies)
    const winners = answers.flatMap((reply, i) => (reply.ok ? [i] : []))
    assert.is(winners.length, 1, `round ${round}: ${winners.length} succeeded`)
    for (const reply of answers) if (!reply.ok) assert.is(reply.payload.errID, 'sudo_required', `round ${round}`)
    current = `montague-${round + 1}-${winners[0]}`
    assert.is((await c.request('profile:login', { username: 'romeo', password: current })).ok, true, `round ${round}: the winner's password is set`)
  }
})

test(`profile:sudo in flight when its device is logged out hands out no token (×${rounds})`, async ({ t }) => {
  const c = await t.connect()
  const password = 'cousin-peace-1'
  await register(c, { username: 'benvolio', password })
  for (let round = 0; round < rounds; round++) {
    const device = await login(t, { username: 'benvolio', password })
    const sameDevice = await auth(t, device.authToken)
    const gate = holdVerify(t, password)
    const asked = device.client.request('profile:sudo', { password })
    await gate.entered
    await sameDevice.request('profile:logout')
    gate.remove()
    await revokedThenRefused(device.client, asked, device.deviceID, round)
  }
})

test('a write for a device deleted behind the server (the admin CLI) answers auth_required and cuts the socket off', async ({ t }) => {
  const c = await t.connect()
  const password = 'queen-mab-dreams'
  await register(c, { username: 'mercutio', password })
  const writes: [string, object][] = [
    ['profile:update', { name: 'Mercutio' }],
    ['device:rename', { deviceID: '', name: 'phone' }],
    ['device:set_push_token', { pushToken: 'push-1' }],
    ['profile:sudo', { password }],
    ['profile:set_password', { oldPassword: password, newPassword: 'another-dream-9' }],
  ]
  for (const [type, payload] of writes) {
    const device = await login(t, { username: 'mercutio', password })
    // What `hafnium user passwd|disable` does from another process: the rows go, this server's sockets stay.
    assert.ok(await t.server.store.devices.revoke((await t.server.store.accounts.byUsername('mercutio'))!.id, device.deviceID))
    const body = type === 'device:rename' ? { ...payload, deviceID: device.deviceID } : payload
    const reply = device.client.request(type, body)
    await revokedThenRefused(device.client, reply, device.deviceID, 0)
    assert.is((await device.client.request('device:list')).payload.errID, 'auth_required', `${type}: the socket is anonymous`)
  }
  const account = await t.server.store.accounts.byUsername('mercutio')
  assert.equal(account!.profile, {}, 'no write went through')
  await login(t, { username: 'mercutio', password })
})

test('profile:logout {allDevices} from a device already deleted ends no one else', async ({ t }) => {
  const c = await t.connect()
  const password = 'wherefore-art-thou'
  await register(c, { username: 'nurse', password })
  const stale = await login(t, { username: 'nurse', password })
  const kept = await login(t, { username: 'nurse', password })
  const accountID = (await t.server.store.accounts.byUsername('nurse'))!.id
  assert.ok(await t.server.store.devices.revoke(accountID, stale.deviceID))
  await revokedThenRefused(stale.client, stale.client.request('profile:logout', { allDevices: true }), stale.deviceID, 0)
  assert.is((await kept.client.request('device:list')).ok, true, 'the other device is still logged in')
  assert.is(await t.server.store.devices.count(accountID), 1)
})

test.run()
