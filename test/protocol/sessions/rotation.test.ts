// Token rotation with reuse detection (contract §18) over real sockets with a hand-driven clock: the new
// token works, the retired one works within the grace and revokes the device after it (logged as a
// suspected theft), concurrent presentations cannot fork the chain, only hashes are stored, and a
// reconnect storm of 1,000 profile:auth completes without errors.
import { storedBytes } from '../../support/engine.ts'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { login, register, requestOk } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const invalidToken = { errID: 'invalid_token', errText: 'The token is not valid' }
const clock = manualClock()
const test = suite<{ t: TestServer; dir: string; logFile: string }>('token rotation')

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-rotation-'))
  ctx.logFile = join(ctx.dir, 'server.log')
  ctx.t = await startTestServer({ sessions: { rotateTokens: true, rotationGraceMs: 30_000 }, limits: { maxDevicesPerAccount: 1000 }, log: { level: 'info' } }, { clock, logFile: ctx.logFile })
  await register(await ctx.t.connect(), { username: 'juliet', password })
})
test.after(async (ctx) => {
  await ctx.t.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

async function present(t: TestServer, authToken: string) {
  const client = await t.connect()
  const reply = await client.request('profile:auth', { authToken })
  return { client, reply }
}

test('the reply carries a new token that works; the retired one works within the grace, gets yet another, and the lost one stops', async ({ t }) => {
  const phone = await login(t, { username: 'juliet', password, deviceName: 'phone' })
  const first = await present(t, phone.authToken)
  assertValidReply('profile:auth', first.reply)
  const t1 = first.reply.payload.authToken as string
  assert.equal(first.reply.payload, { userID: '@juliet@localhost', deviceID: phone.deviceID, authToken: t1 })
  assert.is.not(t1, phone.authToken)
  const second = await present(t, t1)
  const t2 = second.reply.payload.authToken as string
  assert.ok(second.reply.ok && t2 !== t1)

  // The reply carrying t2 was "lost": the client retries with t1 within the grace.
  clock.advance(29_000)
  const retry = await present(t, t1)
  assert.ok(retry.reply.ok, JSON.stringify(retry.reply))
  const t3 = retry.reply.payload.authToken as string
  assert.ok(t3 !== t1 && t3 !== t2)
  assert.equal((await present(t, t2)).reply.payload, invalidToken)
  assert.ok((await present(t, t3)).reply.ok)
  assert.ok(first.client.ws.readyState === first.client.ws.OPEN)
  assert.is((await requestOk(first.client, 'server:ping')).to, '@juliet@localhost')
})

test('a retired token after the grace revokes the device everywhere (reason revoked) and is logged as a suspected theft with the address', async ({ t, logFile }) => {
  const phone = await login(t, { username: 'juliet', password, deviceName: 'stolen' })
  const live = await present(t, phone.authToken)
  const current = live.reply.payload.authToken as string
  clock.advance(30_001)
  const replay = await present(t, phone.authToken)
  assert.equal(replay.reply.payload, invalidToken)
  for (const client of [phone.client, live.client]) {
    const event = await client.nextEvent('profile:session_revoked', { timeoutMs: 10_000 })
    assert.equal(event.payload, { deviceID: phone.deviceID, reason: 'revoked' })
  }
  assert.equal((await present(t, current)).reply.payload, invalidToken)
  const warning = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .find((entry) => /suspected token theft/.test(entry.msg))
  assert.ok(warning, 'no suspected-theft warning in the log')
  assert.is(warning.level, 40)
  assert.is(warning.deviceID, phone.deviceID)
  assert.is(warning.address, '127.0.0.1')
  assert.not.ok(JSON.stringify(warning).includes(phone.authToken))
})

test('two concurrent profile:auth with one token leave exactly one current token (no fork)', async ({ t }) => {
  const phone = await login(t, { username: 'juliet', password, deviceName: 'racing' })
  const [a, b] = await Promise.all([t.connect(), t.connect()])
  const replies = await Promise.all([a.request('profile:auth', { authToken: phone.authToken }), b.request('profile:auth', { authToken: phone.authToken })])
  assert.ok(replies.every((r) => r.ok), JSON.stringify(replies))
  const tokens = replies.map((r) => r.payload.authToken as string)
  const working = []
  for (const token of tokens) if ((await present(t, token)).reply.ok) working.push(token)
  assert.is(working.length, 1, `working successors: ${working.length}`)
})

test('only hashes of the current and retired tokens are in the database', async ({ t }) => {
  const phone = await login(t, { username: 'juliet', password, deviceName: 'hashed' })
  const next = (await present(t, phone.authToken)).reply.payload.authToken as string
  const db = t.server.deps.store
  const account = (await db.accounts.byUsername('juliet'))!
  assert.ok(await db.devices.byID(account.id, phone.deviceID))
  const sha = (token: string) => createHash('sha256').update(token).digest()
  const { createdAt, lastSeenAt } = (await db.devices.byID(account.id, phone.deviceID))!
  const device = { deviceID: phone.deviceID, accountID: account.id, createdAt, lastSeenAt }
  assert.equal(await db.devices.byToken(sha(next)), { ...device, slot: 'current' })
  assert.equal(await db.devices.byToken(sha(phone.authToken)), { ...device, slot: 'previous', retiredAt: clock.now() })
  // profile:auth's read: the same slots, with the account's user ID and status from the same statement.
  const holder = { ...device, userID: account.userID, status: 'active' }
  assert.equal(await db.devices.byTokenWithAccount(sha(next)), { ...holder, slot: 'current' })
  assert.equal(await db.devices.byTokenWithAccount(sha(phone.authToken)), { ...holder, slot: 'previous', retiredAt: clock.now() })
  assert.is(await db.devices.byTokenWithAccount(sha('0'.repeat(64))), undefined)
  const files = await storedBytes(t.config)
  for (const token of [phone.authToken, next]) {
    for (const bytes of files) {
      assert.not.ok(bytes.includes(token), 'a token in hex is stored')
      assert.not.ok(bytes.includes(Buffer.from(token, 'hex')), 'a token in binary is stored')
    }
  }
})

test('a reconnect storm: 100 devices × 10 reconnects = 1,000 profile:auth with rotation, no errors', async ({ t }) => {
  const devices = []
  for (let i = 0; i < 100; i++) {
    const session = await login(t, { username: 'juliet', password, deviceName: `storm-${i}` })
    session.client.close()
    devices.push(session.authToken)
  }
  const started = performance.now()
  const failures: string[] = []
  await Promise.all(
    devices.map(async (first) => {
      let token = first
      for (let round = 0; round < 10; round++) {
        const { client, reply } = await present(t, token)
        if (!reply.ok) failures.push(JSON.stringify(reply.payload))
        else token = reply.payload.authToken
        client.close()
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  assert.equal(failures, [])
  console.log(`reconnect storm: 1,000 profile:auth with rotation in ${seconds.toFixed(2)} s (${Math.round(1000 / seconds)}/s)`)
})

test.run()
