// profile:guest over real sockets: sign-in, the owner's guest flag, guests off, register_ip, idle expiry.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { requestOk } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const test = suite<{ t: TestServer }>('profile:guest')
const day = 86_400_000

test.before(async (ctx) => {
  ctx.t = await startTestServer({ registration: { guests: true } })
})
test.after(async (ctx) => ctx.t.close())

test('signs in as a new guest with a raw user ID; the own profile says guest, the public view does not', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:guest', { deviceName: 'visitor laptop' })
  assertValidReply('profile:guest', reply)
  const { authToken, deviceID, userID, guest } = reply.payload
  assert.is(guest, true)
  assert.match(userID, /^@[a-z0-9]{16}@localhost$/)
  assert.ok(reply.to === userID, 'the reply goes to the new user')

  const own = await requestOk(c, 'profile:get', {})
  assert.equal(own.payload, { userID, guest: true, createdAt: own.payload.createdAt })
  const updated = await requestOk(c, 'profile:update', { nickname: 'visitor' })
  assert.is(updated.payload.guest, true)
  const devices = await requestOk(c, 'device:list', {})
  assert.equal(devices.payload.devices.map((d: { deviceID: string; name: string }) => [d.deviceID, d.name]), [[deviceID, 'visitor laptop']])

  const stranger = await t.connect()
  const seen = await requestOk(stranger, 'profile:get', { userID })
  assert.equal(seen.payload, { userID, nickname: 'visitor', createdAt: own.payload.createdAt })
  // The token works on a new socket like any device's.
  assert.equal((await requestOk(stranger, 'profile:auth', { authToken })).payload, { userID, deviceID })
})

test('a guest has no password: profile:sudo answers invalid_creds, set_password sudo_required', async ({ t }) => {
  const c = await t.connect()
  await requestOk(c, 'profile:guest', {})
  assert.equal((await c.request('profile:sudo', { password: 'anything-at-all' })).payload, { errID: 'invalid_creds', errText: errors.invalid_creds })
  const change = await c.request('profile:set_password', { newPassword: 'a-fine-new-password', oldPassword: 'x' })
  assert.is(change.payload.errID, 'sudo_required')
})

test('guests off (the default): reg_disabled; registration closed: reg_disabled too', async () => {
  for (const overrides of [{}, { registration: { guests: true, mode: 'closed' as const } }]) {
    const t = await startTestServer(overrides)
    try {
      const c = await t.connect()
      assert.equal((await c.request('profile:guest', {})).payload, { errID: 'reg_disabled', errText: errors.reg_disabled })
      assert.is((await t.server.deps.store.accounts.count()), 0)
      assert.is((await requestOk(c, 'server:info', {})).payload.features.guests, false)
    } finally {
      await t.close()
    }
  }
})

test('server:info reports guests on', async ({ t }) => {
  const c = await t.connect()
  const info = await requestOk(c, 'server:info', {})
  assertValidReply('server:info', info)
  assert.equal(info.payload.features, { guests: true, tickets: false, deviceAuthorization: true, captcha: [], providers: [] })
})

test('guests are charged to register_ip: the 6th sign-in from one address is refused', async () => {
  const t = await startTestServer({ registration: { guests: true }, ratelimit: { enabled: true } })
  try {
    const c = await t.connect()
    await requestOk(c, 'profile:register', { username: 'juliet', password: 'balcony-scene-2' })
    for (let i = 0; i < 4; i++) await requestOk(c, 'profile:guest', {})
    const refused = await (await t.connect()).request('profile:guest', {})
    // register_ip is a captcha rule (contract §15): past it, a challenge, with the same retryAfter.
    assert.is(refused.payload.errID, 'captcha_required', JSON.stringify(refused))
    assert.ok(refused.payload.errPayload.retryAfter > 0)
    assert.is(await t.server.deps.store.accounts.count(), 5)
  } finally {
    await t.close()
  }
})

test('an idle guest is deleted after guestTtl by the background sweep; its live socket is told (expired)', async () => {
  const clock = manualClock()
  const t = await startTestServer({ registration: { guests: true, guestTtl: 30 * 86_400, sweepIntervalMs: 100 } }, { clock })
  try {
    const idle = await t.connect()
    const { userID, authToken } = (await requestOk(idle, 'profile:guest', {})).payload
    const active = await t.connect()
    const kept = (await requestOk(active, 'profile:guest', {})).payload
    const member = await t.connect()
    await requestOk(member, 'profile:register', { username: 'juliet', password: 'balcony-scene-2', loginOnSuccess: true })

    clock.advance(29 * day)
    // Seen on day 29: profile:auth from a new socket counts as activity.
    await requestOk(await t.connect(), 'profile:auth', { authToken: kept.authToken })
    clock.advance(2 * day)

    const event = await idle.nextEvent('profile:session_revoked', { timeoutMs: 10_000 })
    assertValidReply('profile:session_revoked', event, 'event')
    assert.is(event.payload.reason, 'expired')
    assert.is((await idle.request('profile:get', {})).payload.errID, 'auth_required')
    const fresh = await t.connect()
    assert.is((await fresh.request('profile:auth', { authToken })).payload.errID, 'invalid_token')
    assert.is((await fresh.request('profile:get', { userID })).payload.errID, 'not_found')
    // The guest seen on day 29 and the full account stay, as do their sessions.
    assert.is((await active.request('profile:get', {})).payload.userID, kept.userID)
    assert.is((await member.request('profile:get', {})).payload.username, 'juliet')
    assert.equal(active.events.filter((e) => e.type === 'profile:session_revoked'), [])
  } finally {
    await t.close()
  }
})

test.run()
