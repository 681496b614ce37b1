// Heavy tier: credential stuffing from one address. 1,000 breached (username, password) pairs — 800 over
// 200 real accounts (4 each), 200 unknown names — from 20 connections on 127.0.0.1, in 10 waves 10 s
// apart on a hand-driven clock (a 90 s attack), with the shipped rules, connection caps and argon2 cost.
// No guess is accepted, the login_ip rule refuses the excess, argon2 evaluations stay within what it
// allows (30 + 0.5/s), and a user on another address logs in during and after the attack.
//
// The clock is manual so the refill the rules allow is exact (30 + 0.5 × 90 = 75) rather than depending
// on how long argon2 takes on this machine; the canary still measures real round trips.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createAccount } from '../../src/accounts/create.ts'
import { loadConfig } from '../../src/config.ts'
import { errors } from '../../src/errors.ts'
import type { Reply } from '../support/client.ts'
import { assertValidReply } from '../support/schemas.ts'
import { manualClock, startTestServer, type TestServer } from '../support/server.ts'
import { routerRefusals, sendWaves, type Attempt, withChallenge } from './abuse.ts'
import { report, startCanary } from './support.ts'

const shipped = loadConfig()
const clock = manualClock()
const ACCOUNTS = 200
const ATTEMPTS = 1000
const CONNECTIONS = 20
const WAVES = 10
const STEP_MS = 10_000
const passwordOf = (i: number) => `own-secret-${i}-lantern`
const julietPassword = 'the-real-balcony-scene-2'

const test = suite<{ t: TestServer }>('hardening (heavy): credential stuffing from one address')
test.before(async (ctx) => {
  ctx.t = await startTestServer(
    { ratelimit: { enabled: true }, limits: shipped.limits, password: { argon2: shipped.password.argon2 } },
    { clock },
  )
  // Seeded through the store: registering 200 accounts over the wire would itself hit register_ip.
  const deps = ctx.t.server.deps
  const seed = (username: string, password: string) => createAccount(deps, { username, thirdPIDs: [], password, status: 'active' })
  await Promise.all([...Array.from({ length: ACCOUNTS }, (_, i) => seed(`user${i}`, passwordOf(i))), seed('juliet', julietPassword)])
})
test.after(async (ctx) => ctx.t.close())

test('1,000 pairs over 200 accounts from one address: 0 accepted, login_ip refuses the rest, argon2 bounded', async ({ t }) => {
  // 4 in 5 pairs name a real account, each account 4 times: the 4th failure is the first that blocks an
  // account (1 s), so the backoff never refuses one and every refusal is the IP rule's. 1 in 5 names no
  // account. No password is right.
  let known = 0
  const attempts: Attempt[] = Array.from({ length: ATTEMPTS }, (_, i) => ({
    type: 'profile:login',
    payload: { username: i % 5 === 4 ? `ghost${i}` : `user${known++ % ACCOUNTS}`, password: `breached-${i}-hunter2` },
  }))
  // A ping every 5 ms: refusals are cheap, so the whole attack lasts well under a second of real time.
  const canary = startCanary(await t.connect({ localAddress: '127.0.0.3' }), 5)
  const attackers = await Promise.all(Array.from({ length: CONNECTIONS }, () => t.connect({ localAddress: '127.0.0.1' })))
  const evaluationsBefore = t.server.deps.passwords.evaluations
  const routerBefore = await routerRefusals(t.server, 'profile:login')
  const started = performance.now()

  // Mid-attack, juliet logs in from another address with her password.
  let during: Reply | undefined
  const tally = await sendWaves(attackers, attempts, {
    waves: WAVES,
    step: () => clock.advance(STEP_MS),
    during: async (wave) => {
      if (wave !== WAVES / 2) return
      during = await (await t.connect({ localAddress: '127.0.0.2' })).request('profile:login', { username: 'juliet', password: julietPassword })
    },
  })
  const seconds = (performance.now() - started) / 1000
  const evaluations = t.server.deps.passwords.evaluations - evaluationsBefore - 1 // juliet's own login costs one
  const router = (await routerRefusals(t.server, 'profile:login')) - routerBefore

  // Even a right pair is refused while the address is throttled: the limit bounds hits, not only guesses.
  const rightPair = await attackers[0]!.request('profile:login', { username: 'user7', password: passwordOf(7) })

  // After the attack: the owner of the account the attack failed against most often logs in from another
  // address once that account's backoff (if any) has passed.
  const owner = await t.connect({ localAddress: '127.0.0.2' })
  const targeted = await Promise.all(Array.from({ length: ACCOUNTS }, (_, i) => t.server.store.accounts.byUsername(`user${i}`)))
  const failures = targeted.map((a) => a!.failedLogins)
  const hardest = failures.indexOf(Math.max(...failures))
  clock.set(Math.max(clock.now(), targeted[hardest]!.loginBlockedUntil))
  const ownerLogin = await owner.request('profile:login', { username: `user${hardest}`, password: passwordOf(hardest) })
  const alive = await (await t.connect({ localAddress: '127.0.0.4' })).request('server:ping')
  const rtt = await canary.stop()

  const rule = t.config.ratelimit.rules.login_ip!
  const simulatedSeconds = ((WAVES - 1) * STEP_MS) / 1000
  const bound = rule.capacity + Math.floor(rule.refillPerSecond * simulatedSeconds)
  const retryAfters = tally.refusals.map((r) => r.payload.errPayload.retryAfter as number)
  report('credential stuffing (one IP)', {
    attempts: ATTEMPTS,
    ...tally.outcomes,
    refusedByLoginIp: router,
    argon2Evaluations: evaluations,
    bound,
    simulatedSeconds,
    maxRetryAfterMs: Math.max(...retryAfters),
    hardestHitFailures: failures[hardest],
    accountsHit: failures.filter((n) => n > 0).length,
    seconds,
    canarySamples: rtt.count,
    canaryP99ms: rtt.p99,
    canaryMaxMs: rtt.max,
  })

  assert.is(tally.outcomes.accepted, undefined, 'no guess accepted')
  assert.equal(Object.keys(tally.outcomes).sort(), ['captcha_required', 'invalid_creds'], JSON.stringify(tally.outcomes))
  assert.ok(evaluations <= bound, `${evaluations} argon2 evaluations > ${bound}`)
  assert.ok(router >= ATTEMPTS - bound, `login_ip refused ${router} < ${ATTEMPTS - bound}`)
  // Every refusal names an honest wait: at most one refill interval of login_ip (2 s).
  assert.ok(retryAfters.every((ms) => ms > 0 && ms <= 1000 / rule.refillPerSecond), JSON.stringify([...new Set(retryAfters)]))
  assert.equal(withChallenge(rightPair.payload), { errID: 'captcha_required', errText: errors.captcha_required, errPayload: { challenge: 'signed', retryAfter: 2000 } })
  assert.ok(during?.ok, JSON.stringify(during))
  assertValidReply('profile:login', during!)
  assert.ok(ownerLogin.ok, JSON.stringify(ownerLogin))
  assert.ok(alive.ok, 'server still answers')
  assert.is(rtt.failures, 0)
  assert.ok(rtt.p99 < 100, `canary p99 ${rtt.p99} ms`)
})

test.run()
