// profile:auth over a real socket: resuming a device on a new connection, lastSeenAt, and every refusal.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { assertValidReply } from '../../support/schemas.ts'
import { register } from '../../support/accounts.ts'
import { flushSeen } from '../../../src/accounts/session-lifetime.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'

const clock = manualClock()
const invalidToken = { errID: 'invalid_token', errText: 'The token is not valid' }

const test = suite<{ t: TestServer; authToken: string; deviceID: string; accountID: string }>('profile:auth')

test.before(async (ctx) => {
  ctx.t = await startTestServer({}, { clock })
  const c = await ctx.t.connect()
  const reg = await register(c, { username: 'juliet', password: 'romeo-montague', loginOnSuccess: true, deviceName: 'phone' })
  ctx.authToken = reg.payload.loginPayload.authToken
  ctx.deviceID = reg.payload.loginPayload.deviceID
  ctx.accountID = (await ctx.t.server.store.accounts.byUsername('juliet'))!.id
  c.close()
})
test.after(async (ctx) => ctx.t.close())

test('a valid token on a new socket: {userID, deviceID}, and the connection is authenticated', async ({ t, authToken, deviceID, accountID }) => {
  const c = await t.connect()
  assert.is((await c.request('server:ping')).to, undefined)
  const reply = await c.request('profile:auth', { authToken })
  assertValidReply('profile:auth', reply)
  assert.equal(reply.payload, { userID: '@juliet@localhost', deviceID })
  assert.is(reply.to, '@juliet@localhost')
  assert.is((await c.request('server:ping')).to, '@juliet@localhost')
  assert.ok(t.server.sessions.isOnline(accountID, deviceID))
})

test('updates the device lastSeenAt (and last IP), not its createdAt — in memory at once, on disk at the next flush', async ({ t, authToken, deviceID, accountID }) => {
  await flushSeen(t.server.deps)
  const [before] = await t.server.store.devices.list(accountID)
  clock.advance(90_000)
  const c = await t.connect()
  assert.is((await c.request('profile:auth', { authToken })).ok, true)
  assert.is((await c.request('device:list')).payload.devices[0].lastSeenAt, clock.now())
  await flushSeen(t.server.deps)
  const [after] = await t.server.store.devices.list(accountID)
  assert.is(after!.id, deviceID)
  assert.is(after!.createdAt, before!.createdAt)
  assert.is(after!.lastSeenAt, before!.lastSeenAt + 90_000)
  assert.is(after!.lastSeenAt, clock.now())
  assert.is(after!.lastIP, '127.0.0.1')
})

test('an unknown token → invalid_token; the connection stays anonymous', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:auth', { authToken: 'ab'.repeat(32) })
  assert.equal(reply.payload, invalidToken)
  assert.is(reply.ok, false)
  assert.is(reply.to, undefined)
  assert.is((await c.request('server:ping')).to, undefined)
})

test('a malformed or missing token → invalid_payload at /payload/authToken', async ({ t, authToken }) => {
  const c = await t.connect()
  for (const payload of [{ authToken: authToken.toUpperCase() }, { authToken: authToken.slice(1) }, { authToken: authToken + '0' }, { authToken: 42 }, {}]) {
    const reply = await c.request('profile:auth', payload)
    assert.is(reply.payload.errID, 'invalid_payload', JSON.stringify(payload))
    assert.is(reply.payload.errPayload.errors[0].path, '/payload/authToken')
  }
  const extra = await c.request('profile:auth', { authToken, deviceID: 'ABCDEFGHJK' })
  assert.equal(extra.payload.errPayload.errors, [{ path: '/payload/deviceID', message: 'must NOT have additional properties' }])
  assert.is(extra.to, undefined)
})

test('the token of a disabled or pending account → invalid_token; it works again once active', async ({ t, authToken, accountID }) => {
  // Twice first, so the account's row is cached (on its second read) when its status changes; on another
  // socket, so c stays anonymous (a refused re-auth leaves a socket as it was).
  const primer = await t.connect()
  for (let i = 0; i < 2; i++) assert.is((await primer.request('profile:auth', { authToken })).ok, true)
  const c = await t.connect()
  for (const status of ['disabled', 'pending'] as const) {
    await t.server.store.accounts.setStatus(accountID, status, clock.now())
    const reply = await c.request('profile:auth', { authToken })
    assert.equal(reply.payload, invalidToken, status)
    assert.is(reply.to, undefined)
  }
  await t.server.store.accounts.setStatus(accountID, 'active', clock.now())
  assert.is((await c.request('profile:auth', { authToken })).ok, true)
})

test('the token of a deleted device → invalid_token', async ({ t, accountID }) => {
  const c = await t.connect()
  const login = await c.request('profile:login', { username: 'juliet', password: 'romeo-montague' })
  assert.is(login.ok, true)
  assert.ok(await t.server.store.devices.revoke(accountID, login.payload.deviceID))
  const other = await t.connect()
  assert.equal((await other.request('profile:auth', { authToken: login.payload.authToken })).payload, invalidToken)
})

test('many re-auths at once (their look-ups share one read transaction): each is answered for its own token, an unknown one refused alone', async ({ t, authToken, deviceID }) => {
  const sockets = await Promise.all(Array.from({ length: 12 }, () => t.connect()))
  // Sent back to back, so the server reads most of them in one turn and looks their tokens up in one batch.
  const replies = await Promise.all(sockets.map((c, i) => c.request('profile:auth', { authToken: i === 5 ? 'cd'.repeat(32) : authToken })))
  replies.forEach((reply, i) => assert.equal(reply.payload, i === 5 ? invalidToken : { userID: '@juliet@localhost', deviceID }, `socket ${i}`))
  assert.equal((await Promise.all(sockets.map((c) => c.request('server:ping')))).map((r) => r.to), sockets.map((_, i) => (i === 5 ? undefined : '@juliet@localhost')))
  sockets.forEach((c) => c.close())
})

test('re-auth on a live socket: as the same device it stays registered once; as another device it moves', async ({ t, authToken, deviceID, accountID }) => {
  const c = await t.connect()
  assert.ok((await c.request('profile:auth', { authToken })).ok)
  const registered = t.server.sessions.size
  for (let i = 0; i < 3; i++) assert.ok((await c.request('profile:auth', { authToken })).ok)
  assert.is(t.server.sessions.size, registered, 'a re-auth as the same device added or dropped a registration')
  // Still reachable by its device: a revocation de-authenticates it.
  t.server.sessions.revokeDevice(accountID, deviceID, 'revoked')
  assert.is((await c.nextEvent('profile:session_revoked', { timeoutMs: 5000 })).payload.deviceID, deviceID)
  assert.is((await c.request('server:ping')).to, undefined)
  // Signed in again, then as another device of the account: only the new device reaches it.
  assert.ok((await c.request('profile:auth', { authToken })).ok)
  const login = await (await t.connect()).request('profile:login', { username: 'juliet', password: 'romeo-montague' })
  const beforeMove = t.server.sessions.size
  assert.ok((await c.request('profile:auth', { authToken: login.payload.authToken })).ok)
  assert.is(t.server.sessions.size, beforeMove, 'moving to another device left the old registration behind')
  t.server.sessions.revokeDevice(accountID, deviceID, 'revoked')
  assert.is((await c.request('server:ping')).to, '@juliet@localhost', 'revoking the old device de-authenticated the socket that moved')
  t.server.sessions.revokeDevice(accountID, login.payload.deviceID, 'revoked')
  assert.is((await c.nextEvent('profile:session_revoked', { timeoutMs: 5000 })).payload.deviceID, login.payload.deviceID)
})

test.run()
