// profile:upgrade over real sockets: a guest becomes a full account and keeps its user ID, devices and tokens.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register, requestOk } from '../../support/accounts.ts'
import type { TestClient } from '../../support/client.ts'
import { obtainToken, startCodeServer } from '../../support/codes.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const test = suite<{ t: TestServer }>('profile:upgrade')
const password = 'balcony-scene-2'

test.before(async (ctx) => {
  ctx.t = await startTestServer({ registration: { guests: true } })
  await register(await ctx.t.connect(), { username: 'romeo', password, thirdPIDs: [{ type: 'email', value: 'romeo@montague.example' }] })
})
test.after(async (ctx) => ctx.t.close())

async function guest(t: TestServer): Promise<{ client: TestClient; authToken: string; deviceID: string; userID: string }> {
  const client = await t.connect()
  return { client, ...(await requestOk(client, 'profile:guest', { deviceName: 'phone' })).payload }
}

const deviceIDs = (reply: { payload: { devices: { deviceID: string }[] } }) => reply.payload.devices.map((d) => d.deviceID).sort()

test('upgrade with username and password: same user ID, devices, profile and tokens; the new credentials log in', async ({ t }) => {
  const g = await guest(t)
  await requestOk(g.client, 'profile:update', { nickname: 'jules' })
  const second = await t.connect()
  await requestOk(second, 'profile:auth', { authToken: g.authToken })
  const before = deviceIDs(await requestOk(g.client, 'device:list', {}))

  const reply = await g.client.request('profile:upgrade', { username: 'Juliet', password, profile: { name: 'Juliet Capulet' } })
  assertValidReply('profile:upgrade', reply)
  assert.equal(reply.payload, { userID: g.userID })

  // Nothing about the connection changed: still signed in, same token, no event.
  const own = await requestOk(g.client, 'profile:get', {})
  assert.equal(own.payload, { userID: g.userID, username: 'juliet', nickname: 'jules', name: 'Juliet Capulet', createdAt: own.payload.createdAt })
  assert.equal(g.client.events.filter((e) => e.type === 'profile:session_revoked'), [])
  assert.is((await second.request('device:list', {})).ok, true)

  const fresh = await login(t, { username: 'juliet', password })
  assert.is(fresh.userID, g.userID)
  const after = deviceIDs(await requestOk(fresh.client, 'device:list', {}))
  assert.equal(after, [...before, fresh.deviceID].sort())
  assert.equal((await requestOk(await t.connect(), 'profile:auth', { authToken: g.authToken })).payload, { userID: g.userID, deviceID: g.deviceID })
  // A password now exists, so sudo works; and the account is a guest no more.
  assert.is((await g.client.request('profile:sudo', { password })).ok, true)
  assert.equal((await g.client.request('profile:upgrade', { username: 'juliet2', password })).payload, { errID: 'forbidden', errText: errors.forbidden })
})

test('a full account cannot upgrade: forbidden', async ({ t }) => {
  const romeo = await login(t, { username: 'romeo', password })
  assert.equal((await romeo.client.request('profile:upgrade', { username: 'romeo2', password })).payload, { errID: 'forbidden', errText: errors.forbidden })
})

test('taken names: id_exists (an unverified 3PID is not taken); a weak password: weak_password; the guest stays a guest', async ({ t }) => {
  const g = await guest(t)
  assert.equal((await g.client.request('profile:upgrade', { username: 'romeo', password })).payload, {
    errID: 'id_exists',
    errText: errors.id_exists,
    errPayload: { field: 'username' },
  })
  // A verified address is taken; an unverified one reserves nothing (as at registration).
  await register(await t.connect(), { username: 'benvolio', password, thirdPIDs: [{ type: 'email', value: 'benvolio@montague.example' }] })
  const benvolio = await t.server.deps.store.accounts.byUsername('benvolio')
  await t.server.deps.store.verifications.markVerified(benvolio!.id, { type: 'email', value: 'benvolio@montague.example' })
  const email = await g.client.request('profile:upgrade', { username: 'nurse', password, thirdPIDs: [{ type: 'email', value: 'BENVOLIO@montague.example' }] })
  assert.is(email.payload.errID, 'id_exists')
  assert.is((await g.client.request('profile:upgrade', { username: 'nurse', password: 'nurse' })).payload.errID, 'weak_password')
  assert.is((await g.client.request('profile:upgrade', { username: 'nurse' })).payload.errID, 'invalid_payload')
  assert.is((await requestOk(g.client, 'profile:get', {})).payload.guest, true)
  const ok = await requestOk(g.client, 'profile:upgrade', { username: 'nurse', password, deviceName: 'nurse phone', thirdPIDs: [{ type: 'email', value: 'romeo@montague.example' }] })
  assert.is(ok.payload.userID, g.userID)
  const { accounts } = t.server.deps.store
  assert.equal((await accounts.byUsername('nurse'))!.thirdPIDs, [{ type: 'email', value: 'romeo@montague.example', verified: false }])
  assert.equal((await accounts.byUsername('romeo'))!.thirdPIDs, [], "romeo's unproven claim gave way")
  const [device] = (await requestOk(g.client, 'device:list', {})).payload.devices
  assert.is(device.name, 'nurse phone')
})

test('two upgrades at once: exactly one succeeds', async ({ t }) => {
  const g = await guest(t)
  const replies = await Promise.all([
    g.client.request('profile:upgrade', { username: 'tybalt', password }),
    (async () => {
      const other = await t.connect()
      await requestOk(other, 'profile:auth', { authToken: g.authToken })
      return other.request('profile:upgrade', { username: 'mercutio', password })
    })(),
  ])
  assert.is(replies.filter((r) => r.ok).length, 1, JSON.stringify(replies.map((r) => r.payload)))
  assert.ok(replies.some((r) => r.payload.errID === 'forbidden'))
})

test('verified registration: a signup token is required; with one the 3PID is stored verified and no password is needed', async () => {
  const t = await startCodeServer({ registration: { guests: true, mode: 'verified' } })
  try {
    const g = await guest(t)
    const email = 'nurse@verona.example'
    const without = await g.client.request('profile:upgrade', { username: 'nurse', password, thirdPIDs: [{ type: 'email', value: email }] })
    assert.is(without.payload.errID, 'invalid_payload')
    assert.is(without.payload.errPayload.errors[0].path, '/payload/verificationToken')
    const wrong = await g.client.request('profile:upgrade', { username: 'nurse', thirdPIDs: [{ type: 'email', value: email }], verificationToken: 'A'.repeat(43) })
    assert.is(wrong.payload.errID, 'invalid_token')

    const token = await obtainToken(t, await t.connect(), { purpose: 'signup', thirdPID: email }, email)
    const ok = await g.client.request('profile:upgrade', { username: 'nurse', thirdPIDs: [{ type: 'email', value: email }], verificationToken: token })
    assert.equal(ok.payload, { userID: g.userID })
    const account = await t.server.deps.store.accounts.byUserID(g.userID)
    assert.equal([account!.guest, account!.passwordHash, account!.thirdPIDs], [false, null, [{ type: 'email', value: email, verified: true }]])
    // The token is used up.
    const other = await guest(t)
    const replay = await other.client.request('profile:upgrade', { username: 'nurse2', thirdPIDs: [{ type: 'email', value: 'x@verona.example' }], verificationToken: token })
    assert.is(replay.payload.errID, 'invalid_token')
  } finally {
    await t.close()
  }
})

test.run()
