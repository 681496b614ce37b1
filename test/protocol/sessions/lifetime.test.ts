// Session lifetime (contract §18) over real sockets with a hand-driven clock: idle and absolute expiry,
// revoked by the background sweep or at the token's next presentation, whichever comes first.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { login, register, requestOk, type Session } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'
import type { TestClient } from '../../support/client.ts'

const password = 'balcony-scene-2'
const invalidToken = { errID: 'invalid_token', errText: 'The token is not valid' }
const hour = 3_600_000

async function newServer(sessions: object, clock: ReturnType<typeof manualClock>): Promise<TestServer> {
  // A last-seen flush every minute of real time: within a test only the in-memory times exist.
  const t = await startTestServer({ sessions, ratelimit: { flushIntervalMs: 60_000 } }, { clock })
  await register(await t.connect(), { username: 'juliet', password })
  return t
}

const signIn = (t: TestServer, deviceName: string): Promise<Session> => login(t, { username: 'juliet', password, deviceName })

async function deviceNames(client: TestClient): Promise<string[]> {
  const reply = await requestOk(client, 'device:list')
  assertValidReply('device:list', reply)
  return reply.payload.devices.map((d: { name: string }) => d.name)
}

async function expectRevoked(client: TestClient, deviceID: string, reason: string) {
  const event = await client.nextEvent('profile:session_revoked', { timeoutMs: 10_000 })
  assert.equal(event.payload, { deviceID, reason })
  assert.is((await client.request('device:list')).payload.errID, 'auth_required')
}

const test = suite('session lifetime')

test('idle timeout, by the sweep: the live socket gets expired, the token invalid_token, device:list drops it; a device seen since (unflushed) survives', async () => {
  const clock = manualClock()
  const t = await newServer({ idleTimeout: 3600, sweepIntervalMs: 100 }, clock)
  try {
    const idle = await signIn(t, 'idle')
    const busy = await signIn(t, 'busy')
    const listed = (await requestOk(busy.client, 'device:list')).payload.devices
    assert.equal(
      listed.map((d: { expiresAt: number | null }) => d.expiresAt),
      [clock.now() + hour, clock.now() + hour],
    )
    clock.advance(hour - 1000)
    await requestOk(busy.client, 'server:ping') // seen in memory only (no flush within the test)
    clock.advance(2000)
    await expectRevoked(idle.client, idle.deviceID, 'expired')
    assert.equal((await (await t.connect()).request('profile:auth', { authToken: idle.authToken })).payload, invalidToken)
    assert.equal(await deviceNames(busy.client), ['busy'])
    // device:list is itself a request that sees the device.
    assert.is((await requestOk(busy.client, 'device:list')).payload.devices[0].expiresAt, clock.now() + hour)
    assert.ok((await (await t.connect()).request('profile:auth', { authToken: busy.authToken })).ok)
  } finally {
    await t.close()
  }
})

test('idle timeout, at presentation before any sweep: profile:auth answers invalid_token and cuts the live socket off', async () => {
  const clock = manualClock()
  const t = await newServer({ idleTimeout: 3600, sweepIntervalMs: 3_600_000 }, clock)
  try {
    const phone = await signIn(t, 'phone')
    clock.advance(hour + 1)
    const reply = await (await t.connect()).request('profile:auth', { authToken: phone.authToken })
    assert.equal(reply.payload, invalidToken)
    await expectRevoked(phone.client, phone.deviceID, 'expired')
    const laptop = await signIn(t, 'laptop')
    assert.equal(await deviceNames(laptop.client), ['laptop'])
    // Exactly at the limit it still works: expiry is strictly after expiresAt.
    clock.advance(hour)
    assert.ok((await (await t.connect()).request('profile:auth', { authToken: laptop.authToken })).ok)
  } finally {
    await t.close()
  }
})

test('maxAge ends a busy device; idleTimeout 0 and maxAge 0 give expiresAt null and no expiry', async () => {
  const clock = manualClock()
  const t = await newServer({ idleTimeout: 0, maxAge: 60, sweepIntervalMs: 100 }, clock)
  try {
    const phone = await signIn(t, 'phone')
    const created = clock.now()
    for (let i = 0; i < 5; i++) {
      clock.advance(10_000)
      const [entry] = (await requestOk(phone.client, 'device:list')).payload.devices
      assert.is(entry.expiresAt, created + 60_000)
    }
    clock.advance(10_001)
    await expectRevoked(phone.client, phone.deviceID, 'expired')
    assert.equal((await (await t.connect()).request('profile:auth', { authToken: phone.authToken })).payload, invalidToken)
  } finally {
    await t.close()
  }
  const forever = await newServer({ idleTimeout: 0, maxAge: 0, sweepIntervalMs: 100 }, clock)
  try {
    const phone = await signIn(forever, 'phone')
    assert.is((await requestOk(phone.client, 'device:list')).payload.devices[0].expiresAt, null)
    clock.advance(10 * 365 * 24 * hour)
    assert.ok((await (await forever.connect()).request('profile:auth', { authToken: phone.authToken })).ok)
  } finally {
    await forever.close()
  }
})

test.run()
