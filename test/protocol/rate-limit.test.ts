// Rate limits over real sockets: ratelimit_exceed with an honest retryAfter, malformed floods, reconnects and restarts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, manualClock } from '../support/server.ts'

const limits = (rules: Record<string, unknown>) => ({ ratelimit: { enabled: true, rules: rules as never } })

test('a per-IP rule refuses with retryAfter, and retrying after it succeeds', async () => {
  const clock = manualClock()
  const t = await startTestServer(limits({ ping_ip: { subject: 'ip', types: ['server:ping'], capacity: 2, refillPerSecond: 0.5 } }), { clock })
  const c = await t.connect()
  assert.is((await c.request('server:ping')).ok, true)
  assert.is((await c.request('server:ping')).ok, true)
  const refused = await c.request('server:ping', {}, { id: 'r' })
  assert.equal(refused, {
    id: 'r',
    type: 'server:ping',
    from: 'localhost',
    ok: false,
    payload: { errID: 'ratelimit_exceed', errText: 'Too many requests; retry later', errPayload: { retryAfter: 2000 } },
  })
  assert.is((await c.request('server:info')).ok, true, 'other types are not charged by this rule')
  clock.advance(1999)
  assert.is((await c.request('server:ping')).ok, false)
  clock.advance(1)
  assert.is((await c.request('server:ping')).ok, true)
  await t.close()
})

test('repeated malformed frames close the connection with 1008', async () => {
  const t = await startTestServer(limits({ malformed: { subject: 'connection', types: ['malformed'], capacity: 3, refillPerSecond: 0.01 } }))
  const c = await t.connect()
  for (let i = 0; i < 3; i++) {
    c.sendRaw('garbage')
    assert.is((await c.nextReply()).payload.errID, 'malformed_message')
  }
  c.sendRaw('garbage')
  assert.is((await c.closed).code, 1008)
  const fresh = await t.connect()
  assert.is((await fresh.request('server:ping')).ok, true, 'a new connection has its own budget')
  await t.close()
})

test('a frame budget ("*") charges every frame, malformed ones included', async () => {
  const clock = manualClock()
  const t = await startTestServer(limits({ messages: { subject: 'connection', types: ['*'], capacity: 3, refillPerSecond: 1 } }), { clock })
  const c = await t.connect()
  c.sendRaw('{}')
  assert.is((await c.nextReply()).payload.errID, 'malformed_message')
  await c.request('server:ping')
  await c.request('unknown:type')
  const refused = await c.request('server:ping')
  assert.is(refused.payload.errID, 'ratelimit_exceed')
  assert.is(refused.payload.errPayload.retryAfter, 1000)
  await t.close()
})

test('IP and account buckets survive reconnects and restarts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-rl-'))
  const clock = manualClock()
  const rules = limits({ login_ip: { subject: 'ip', types: ['profile:login'], capacity: 3, refillPerSecond: 0.01 } })
  let t = await startTestServer(rules, { clock, dir })
  let c = await t.connect()
  for (let i = 0; i < 3; i++) assert.is((await c.request('profile:login', { username: 'x', password: 'y' })).payload.errID, 'invalid_creds')
  assert.is((await c.request('profile:login', { username: 'x', password: 'y' })).payload.errID, 'ratelimit_exceed')
  c.close()
  c = await t.connect()
  assert.is((await c.request('profile:login', { username: 'x', password: 'y' })).payload.errID, 'ratelimit_exceed', 'reconnecting does not reset')
  await t.close()
  t = await startTestServer(rules, { clock, dir })
  c = await t.connect()
  const after = await c.request('profile:login', { username: 'x', password: 'y' })
  assert.is(after.payload.errID, 'ratelimit_exceed', 'restarting does not reset')
  assert.is(after.payload.errPayload.retryAfter, 100_000)
  await t.close()
  rmSync(dir, { recursive: true, force: true })
})

test('login_account is one budget per account, whichever of its names the guesses use', async () => {
  const t = await startTestServer(limits({ login_account: { subject: 'account', capacity: 2, refillPerSecond: 0.01 } }))
  const c = await t.connect()
  const reg = await c.request('profile:register', { username: 'mercutio', password: 'queen-mab-dreams-9', thirdPIDs: [{ type: 'email', value: 'm@verona.example' }] })
  assert.is(reg.ok, true, JSON.stringify(reg.payload))
  assert.is((await c.request('profile:login', { username: 'mercutio', password: 'wrong-guess-1' })).payload.errID, 'invalid_creds')
  assert.is((await c.request('profile:login', { thirdPID: 'm@verona.example', password: 'wrong-guess-2' })).payload.errID, 'invalid_creds')
  assert.is((await c.request('profile:login', { loginID: 'M@Verona.example', password: 'wrong-guess-3' })).payload.errID, 'ratelimit_exceed')
  assert.is((await c.request('profile:login', { username: 'nobody-here', password: 'wrong-guess-4' })).payload.errID, 'invalid_creds', 'other names have their own budget')
  await t.close()
})

test('ratelimit.enabled false turns every rule off', async () => {
  const t = await startTestServer({ ratelimit: { enabled: false, rules: { p: { subject: 'ip', types: ['server:ping'], capacity: 1, refillPerSecond: 0.01 } } } })
  const c = await t.connect()
  for (let i = 0; i < 5; i++) assert.is((await c.request('server:ping')).ok, true)
  await t.close()
})

test.run()
