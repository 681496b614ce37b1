// Captcha (contract §15) over real sockets: an exhausted captcha rule answers captcha_required with an
// ALTCHA challenge; a solved one admits the request against a second, equally sized bucket; a wrong,
// tampered or reused solution is captcha_invalid, also after a restart; past both buckets ratelimit_exceed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { solveChallenge, type Challenge } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/sha'
import { errors } from '../../src/errors.ts'
import { manualClock, startTestServer } from '../support/server.ts'
import type { TestClient } from '../support/client.ts'

// A low difficulty keeps the suite fast; the shipped maxCounter is measured in README > Captcha.
const withLoginIP = (capacity: number) =>
  ({
    captcha: { maxCounter: 2000, expiresSeconds: 300 },
    ratelimit: { enabled: true, rules: { login_ip: { capacity, refillPerSecond: 0.01, captcha: true } } },
  }) as never

/** What a client does with captcha_required: solve the challenge, encode {challenge, solution} as base64 JSON. */
async function solve(challenge: Challenge): Promise<string> {
  const solution = await solveChallenge({ challenge, deriveKey, timeout: 30_000 })
  assert.ok(solution, 'the challenge was solved within 30 s')
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64')
}

async function challengeFor(c: TestClient, password = 'wrong-guess'): Promise<Challenge> {
  const reply = await c.request('profile:login', { username: 'nobody', password })
  assert.is(reply.payload.errID, 'captcha_required', JSON.stringify(reply.payload))
  assert.is(reply.payload.errText, errors.captcha_required)
  return reply.payload.errPayload.challenge as Challenge
}

test('exhausted: captcha_required with a challenge and retryAfter; no argon2 runs for it', async () => {
  const t = await startTestServer(withLoginIP(2), { clock: manualClock() })
  const c = await t.connect()
  for (let i = 0; i < 2; i++) assert.is((await c.request('profile:login', { username: 'nobody', password: 'x-guess' })).payload.errID, 'invalid_creds')
  const before = t.server.deps.passwords.evaluations
  const reply = await c.request('profile:login', { username: 'nobody', password: 'x-guess' })
  assert.is(reply.payload.errID, 'captcha_required')
  assert.is(reply.payload.errPayload.retryAfter, 100_000)
  const challenge = reply.payload.errPayload.challenge as Challenge
  assert.is(challenge.parameters.algorithm, 'SHA-256')
  assert.type(challenge.signature, 'string')
  const expiresIn = challenge.parameters.expiresAt! - Date.now() / 1000
  assert.ok(expiresIn > 290 && expiresIn <= 300, `expires in 5 minutes (${expiresIn} s)`)
  assert.is(t.server.deps.passwords.evaluations, before, 'refused before any hashing')
  await t.close()
})

test('a solved challenge admits one request; reused, tampered or garbage → captcha_invalid; then ratelimit_exceed', async () => {
  const t = await startTestServer(withLoginIP(5), { clock: manualClock() })
  const c = await t.connect()
  assert.is((await c.request('profile:register', { username: 'romeo', password: 'montague-moonlight-7' })).ok, true)
  for (let i = 0; i < 5; i++) await c.request('profile:login', { username: 'nobody', password: 'x-guess' })

  const payload = await solve(await challengeFor(c))
  const before = t.server.deps.passwords.evaluations
  const login = await c.request('profile:login', { username: 'romeo', password: 'montague-moonlight-7', captcha: payload })
  assert.is(login.ok, true, JSON.stringify(login.payload))
  assert.is(t.server.deps.passwords.evaluations - before, 1, 'the admitted request reached the handler')

  const reused = await c.request('profile:login', { username: 'romeo', password: 'montague-moonlight-7', captcha: payload })
  assert.equal(reused.payload, { errID: 'captcha_invalid', errText: errors.captcha_invalid })

  // The challenge's parameters changed after signing (an easier key prefix): the signature no longer holds.
  const challenge = await challengeFor(c)
  const solved = JSON.parse(Buffer.from(await solve(challenge), 'base64').toString()) as { challenge: Challenge }
  solved.challenge.parameters.keyPrefix = '00'
  const tampered = Buffer.from(JSON.stringify(solved)).toString('base64')
  assert.is((await c.request('profile:login', { username: 'romeo', password: 'x', captcha: tampered })).payload.errID, 'captcha_invalid')
  assert.is((await c.request('profile:login', { username: 'romeo', password: 'x', captcha: 'bm90IGpzb24=' })).payload.errID, 'captcha_invalid')
  assert.is(t.server.deps.passwords.evaluations - before, 1, 'refused solutions cost no argon2')

  // The second bucket (capacity 5) pays for every try, refused ones too: one more admitted, then the hard cap.
  const spare = await challengeFor(c)
  assert.is((await c.request('profile:login', { username: 'romeo', password: 'x', captcha: await solve(challenge) })).payload.errID, 'invalid_creds')
  const capped = await c.request('profile:login', { username: 'romeo', password: 'x', captcha: await solve(spare) })
  assert.is(capped.payload.errID, 'ratelimit_exceed', JSON.stringify(capped.payload))
  await t.close()
})

test('a spent solution stays spent across a restart (kept in the database)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-captcha-'))
  // Capacity 2: after the restart the second bucket still has a token, so the replay reaches verification.
  const roomy = withLoginIP(2)
  let t = await startTestServer(roomy, { clock: manualClock(), dir })
  let c = await t.connect()
  for (let i = 0; i < 2; i++) await c.request('profile:login', { username: 'nobody', password: 'x-guess' })
  const payload = await solve(await challengeFor(c))
  assert.is((await c.request('profile:login', { username: 'nobody', password: 'x-guess', captcha: payload })).payload.errID, 'invalid_creds')
  await t.close()
  t = await startTestServer(roomy, { clock: manualClock(), dir })
  c = await t.connect()
  const replayed = await c.request('profile:login', { username: 'nobody', password: 'x-guess', captcha: payload })
  assert.is(replayed.payload.errID, 'captcha_invalid', 'the same server key, the same spent list')
  await t.close()
  rmSync(dir, { recursive: true, force: true })
})

test.run()
