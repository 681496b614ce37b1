// @hafnium/client solves captcha_required (contract §15): its WebCrypto solver against altcha-lib's own
// challenges and verification (so they cannot drift), and over real sockets: a client that solves keeps
// logging in past login_ip, one with the opt-out gets captcha_required, a script that does not solve
// reaches argon2 exactly as often as with no captcha step at all.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createChallenge, verifySolution, type Challenge } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/sha'
import { CaptchaError, HafniumClient, HafniumError, encodeSolution, solveChallenge, type CaptchaEvent } from '../../src/client/index.ts'
import { manualClock, startTestServer } from '../support/server.ts'

const secrets = { hmacSignatureSecret: 'challenge-secret', hmacKeySignatureSecret: 'key-secret' }
const password = 'montague-moonlight-7'

// The server's mode: a known counter whose derived key is signed (src/auth/captcha.ts).
const deterministic = (counter: number, algorithm = 'SHA-256') =>
  createChallenge({ algorithm, cost: 1, counter, deriveKey, ...secrets, expiresAt: Math.floor(Date.now() / 1000) + 300 })

test("solutions of altcha-lib's challenges verify with altcha-lib (SHA-256/384/512, counter 0 and 1000-ish)", async () => {
  for (const [algorithm, counter] of [['SHA-256', 0], ['SHA-256', 1234], ['SHA-384', 777], ['SHA-512', 65]] as const) {
    const challenge = await deterministic(counter, algorithm)
    const solution = await solveChallenge(challenge, { timeoutMs: 30_000 })
    assert.is(solution.counter, counter, algorithm)
    const result = await verifySolution({ challenge, solution, deriveKey, ...secrets })
    assert.ok(result.verified, `${algorithm} counter ${counter}: ${JSON.stringify(result)}`)
  }
})

test('random-prefix challenges (no known counter; odd and even prefix lengths, cost 3) verify too', async () => {
  for (const keyPrefix of ['0a', 'f', 'AB']) {
    const challenge = await createChallenge({ algorithm: 'SHA-256', cost: 3, keyPrefix, deriveKey, ...secrets })
    const solution = await solveChallenge(challenge, { timeoutMs: 30_000 })
    const result = await verifySolution({ challenge, solution, deriveKey, ...secrets })
    assert.ok(result.verified, `prefix ${keyPrefix}: ${JSON.stringify(result)}`)
  }
})

test('the encoded payload is the base64 JSON {challenge, solution} the server decodes', async () => {
  const challenge = await deterministic(42)
  const solution = await solveChallenge(challenge)
  const decoded = JSON.parse(Buffer.from(encodeSolution(challenge, solution), 'base64').toString('utf8')) as { challenge: Challenge }
  assert.equal(decoded, { challenge, solution })
})

test('a bounded solve: timeout, abort and an unsolvable challenge reject with CaptchaError naming why', async () => {
  const hard = await deterministic(4_000_000_000)
  const timedOut = (await solveChallenge(hard, { timeoutMs: 50 }).catch((e: unknown) => e)) as CaptchaError
  assert.instance(timedOut, CaptchaError)
  assert.is(timedOut.reason, 'timeout')
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 50)
  const aborted = (await solveChallenge(hard, { signal: controller.signal }).catch((e: unknown) => e)) as CaptchaError
  assert.is(aborted.reason, 'aborted')
  for (const bad of [null, {}, { parameters: { ...hard.parameters, algorithm: 'MD5' } }, { parameters: { ...hard.parameters, nonce: 'xyz' } }]) {
    const refused = (await solveChallenge(bad).catch((e: unknown) => e)) as CaptchaError
    assert.is(refused.reason, 'unsupported', JSON.stringify(bad))
  }
})

test('without WebCrypto (a browser page on plain http://) the solve is refused as unsupported, not a crash', async () => {
  const challenge = await deterministic(5)
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true })
  try {
    const refused = (await solveChallenge(challenge).catch((e: unknown) => e)) as CaptchaError
    assert.instance(refused, CaptchaError)
    assert.is(refused.reason, 'unsupported')
    assert.match(refused.message, /crypto\.subtle/)
  } finally {
    Object.defineProperty(globalThis, 'crypto', saved)
  }
})

// Capacity 3, barely refilling: the fourth login from one address meets the captcha step.
const loginIP = (captcha: boolean, maxCounter = 2000) =>
  ({
    captcha: { maxCounter, expiresSeconds: 300 },
    ratelimit: { enabled: true, rules: { login_ip: { capacity: 3, refillPerSecond: 0.01, captcha } } },
  }) as never

test('a client with captcha on keeps logging in past login_ip: solved, repeated, reported by onCaptcha', async () => {
  const t = await startTestServer(loginIP(true), { clock: manualClock() })
  const client = await HafniumClient.connect(t.url)
  await client.register('romeo', password, { loginOnSuccess: false })
  const events: CaptchaEvent[] = []
  client.onCaptcha((event) => events.push(event))
  const before = t.server.deps.passwords.evaluations
  for (let i = 0; i < 6; i++) {
    const reply = await client.login('romeo', password, { deviceName: `phone ${i}` })
    assert.type(reply.authToken, 'string', `login ${i + 1}`)
  }
  assert.is(t.server.deps.passwords.evaluations - before, 6, 'each login ran argon2 once: no request was sent twice to the handler')
  assert.equal(events.map((e) => e.stage), ['solving', 'solved', 'solving', 'solved', 'solving', 'solved'])
  for (const event of events) assert.is(event.type, 'profile:login')
  // Past the second bucket too (the hard cap): ratelimit_exceed, as without a captcha step.
  const capped = (await client.login('romeo', password).catch((e: unknown) => e)) as HafniumError
  assert.is(capped.errID, 'ratelimit_exceed')
  await client.close()
  await t.close()
})

test('opt-out (client option, or per request) answers captcha_required with its challenge', async () => {
  const t = await startTestServer(loginIP(true), { clock: manualClock() })
  const off = await HafniumClient.connect(t.url, { captcha: false })
  const events: CaptchaEvent[] = []
  off.onCaptcha((event) => events.push(event))
  for (let i = 0; i < 3; i++) await off.login('nobody', 'wrong-guess').catch(() => undefined)
  const refused = (await off.login('nobody', 'wrong-guess').catch((e: unknown) => e)) as HafniumError
  assert.is(refused.errID, 'captcha_required')
  assert.type((refused.errPayload?.challenge as Challenge).signature, 'string')
  assert.equal(events, [], 'nothing was solved')
  await off.close()

  const on = await HafniumClient.connect(t.url)
  const perRequest = (await on.request('profile:login', { loginID: 'nobody', password: 'x' }, { captcha: false }).catch((e: unknown) => e)) as HafniumError
  assert.is(perRequest.errID, 'captcha_required')
  await on.close()
  await t.close()
})

test('too slow to solve (timeoutMs) or aborted: onCaptcha says so and captcha_required is thrown', async () => {
  // maxCounter 10^8: a search of minutes, far past the bounds below.
  const t = await startTestServer(loginIP(true, 100_000_000), { clock: manualClock() })
  const client = await HafniumClient.connect(t.url, { captcha: { timeoutMs: 100 } })
  const events: CaptchaEvent[] = []
  client.onCaptcha((event) => events.push(event))
  for (let i = 0; i < 3; i++) await client.login('nobody', 'wrong-guess').catch(() => undefined)
  const slow = (await client.login('nobody', 'wrong-guess').catch((e: unknown) => e)) as HafniumError
  assert.is(slow.errID, 'captcha_required')
  assert.is(events.at(-1)?.stage, 'failed')
  assert.is((events.at(-1) as { reason: string }).reason, 'timeout')

  const controller = new AbortController()
  const pending = client.request('profile:login', { loginID: 'nobody', password: 'x' }, { captcha: { signal: controller.signal, timeoutMs: 60_000 } })
  setTimeout(() => controller.abort(), 100)
  const aborted = (await pending.catch((e: unknown) => e)) as HafniumError
  assert.is(aborted.errID, 'captcha_required')
  assert.is((events.at(-1) as { reason: string }).reason, 'aborted')
  await client.close()
  await t.close()
})

test('a stuffing script that does not solve reaches argon2 exactly as often as with no captcha step', async () => {
  const evaluations: number[] = []
  const answers: string[][] = []
  for (const captcha of [true, false]) {
    const t = await startTestServer(loginIP(captcha), { clock: manualClock() })
    const script = await t.connect()
    const before = t.server.deps.passwords.evaluations
    const seen = new Set<string>()
    for (let i = 0; i < 20; i++) seen.add((await script.request('profile:login', { username: 'victim', password: `guess-${i}` })).payload.errID as string)
    evaluations.push(t.server.deps.passwords.evaluations - before)
    answers.push([...seen])
    await t.close()
  }
  assert.equal(evaluations, [3, 3])
  assert.equal(answers, [['invalid_creds', 'captcha_required'], ['invalid_creds', 'ratelimit_exceed']])
})

test.run()
