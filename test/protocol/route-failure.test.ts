// The captcha store failing in the captcha gate (before any handler runs): the frame is answered as a
// handler's store failure would be (storage_busy for a busy or full database, else internal_error, logged
// at error with its connection), and the frames behind it on the same socket are still answered in order.
// A failure of the router's own path is the connection's (test/unit/connection-queue.test.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { manualClock, startTestServer } from '../support/server.ts'

test('the captcha store throwing in the gate: internal_error, logged once, and the next frames are answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-route-failure-'))
  const logFile = join(dir, 'server.log')
  const t = await startTestServer(
    { log: { level: 'error' }, captcha: { maxCounter: 2000, expiresSeconds: 300 }, ratelimit: { enabled: true, rules: { login_ip: { capacity: 1, refillPerSecond: 0.01, captcha: true } } } } as never,
    { clock: manualClock(), logFile },
  )
  const c = await t.connect()
  assert.is((await c.request('profile:login', { username: 'nobody', password: 'x-guess' })).payload.errID, 'invalid_creds')
  // The bucket is empty: the next login goes to the captcha gate, whose challenge now throws.
  t.server.deps.captcha = {
    challenge: () => Promise.reject(new Error('captcha store unavailable')),
    verify: () => Promise.reject(new Error('captcha store unavailable')),
  }
  // Sent together, so the ping waits in the connection's queue behind the failing login.
  const [login, ping, again] = await Promise.all([
    c.request('profile:login', { username: 'nobody', password: 'x-guess' }, { id: 'login-1' }),
    c.request('server:ping', {}, { id: 'ping-1' }),
    c.request('server:ping', {}, { id: 'ping-2' }),
  ])
  assert.equal({ id: login.id, type: login.type, ok: login.ok, payload: login.payload }, { id: 'login-1', type: 'profile:login', ok: false, payload: { errID: 'internal_error', errText: errors.internal_error } })
  assert.equal([ping.id, ping.ok, again.id, again.ok], ['ping-1', true, 'ping-2', true])
  assert.is((await c.request('server:ping')).ok, true, 'the socket still answers afterwards')
  await t.close()

  const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string; connection?: string; err?: { message: string } })
  const failures = lines.filter((line) => line.err?.message === 'captcha store unavailable')
  assert.is(failures.length, 1, `logged once: ${JSON.stringify(lines)}`)
  assert.is(failures[0]!.level, 50, 'at error')
  assert.type(failures[0]!.connection, 'string', 'with the connection id')
  rmSync(dir, { recursive: true, force: true })
})

test('the captcha store busy in the gate: storage_busy with retryAfter, as from a handler', async () => {
  const t = await startTestServer(
    { captcha: { maxCounter: 2000, expiresSeconds: 300 }, ratelimit: { enabled: true, rules: { login_ip: { capacity: 1, refillPerSecond: 0.01, captcha: true } } } } as never,
    { clock: manualClock() },
  )
  const c = await t.connect()
  assert.is((await c.request('profile:login', { username: 'nobody', password: 'x-guess' })).payload.errID, 'invalid_creds')
  const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
  t.server.deps.captcha = { challenge: () => Promise.reject(busy), verify: () => Promise.reject(busy) }
  const reply = await c.request('profile:login', { username: 'nobody', password: 'x-guess' })
  assert.equal(reply.payload, { errID: 'storage_busy', errText: errors.storage_busy, errPayload: { retryAfter: 1000 } })
  assert.is((await c.request('server:ping')).ok, true)
  await t.close()
})

test.run()
