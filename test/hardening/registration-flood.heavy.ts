// Heavy tier: registration flood from one address. 1,000 profile:register attempts with distinct names from
// 20 connections on 127.0.0.1, in 10 waves 60 s apart on a hand-driven clock (a 9 min flood), with the
// shipped rules, connection caps and argon2 cost. Accepted registrations stay within register_ip
// (5 + 1 per 20 s), the rest answer captcha_required (register_ip is a captcha rule; none solves), the database holds exactly the acknowledged
// accounts, and another address registers during the flood.
//
// The clock is manual so the refill the rule allows is exact (5 + 0.05 × 540 = 32) instead of depending
// on how fast this machine hashes; the canary still measures real round trips.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig } from '../../src/config.ts'
import type { Reply } from '../support/client.ts'
import { assertValidReply } from '../support/schemas.ts'
import { manualClock, startTestServer, type TestServer } from '../support/server.ts'
import { routerRefusals, sendWaves, type Attempt } from './abuse.ts'
import { report, startCanary } from './support.ts'

const shipped = loadConfig()
const clock = manualClock()
const ATTEMPTS = 1000
const CONNECTIONS = 20
const WAVES = 10
const STEP_MS = 60_000
const password = 'wallflower-orbit-93-kestrel'

const test = suite<{ t: TestServer }>('hardening (heavy): registration flood from one address')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ ratelimit: { enabled: true }, limits: shipped.limits, password: { argon2: shipped.password.argon2 } }, { clock })
})
test.after(async (ctx) => ctx.t.close())

test('1,000 registrations from one address: accepted ≤ register_ip, the rest refused, the store agrees', async ({ t }) => {
  const attempts: Attempt[] = Array.from({ length: ATTEMPTS }, (_, i) => ({ type: 'profile:register', payload: { username: `flood${i}`, password } }))
  // A ping every 5 ms: refusals are cheap, so the whole flood lasts well under a second of real time.
  const canary = startCanary(await t.connect({ localAddress: '127.0.0.3' }), 5)
  const attackers = await Promise.all(Array.from({ length: CONNECTIONS }, () => t.connect({ localAddress: '127.0.0.1' })))
  const evaluationsBefore = t.server.deps.passwords.evaluations
  const routerBefore = await routerRefusals(t.server, 'profile:register')
  const started = performance.now()

  let other: Reply | undefined
  const tally = await sendWaves(attackers, attempts, {
    waves: WAVES,
    step: () => clock.advance(STEP_MS),
    during: async (wave) => {
      if (wave !== WAVES / 2) return
      other = await (await t.connect({ localAddress: '127.0.0.2' })).request('profile:register', { username: 'juliet', password })
    },
  })
  const seconds = (performance.now() - started) / 1000
  const evaluations = t.server.deps.passwords.evaluations - evaluationsBefore
  const router = (await routerRefusals(t.server, 'profile:register')) - routerBefore

  // The store holds exactly the acknowledged accounts: each accepted name exists, no refused one does.
  const accounts = t.server.store.accounts
  const acceptedNames = attempts.filter((_, i) => tally.replies[i]!.ok).map((a) => (a.payload as { username: string }).username)
  const present = await Promise.all(attempts.map(async (a) => (await accounts.byUsername((a.payload as { username: string }).username)) !== undefined))
  const stored = await accounts.count()
  // An acknowledged account really works: log into one from another address.
  const firstAccepted = acceptedNames[0]
  const login = await (await t.connect({ localAddress: '127.0.0.4' })).request('profile:login', { username: firstAccepted, password })
  const rtt = await canary.stop()

  const rule = t.config.ratelimit.rules.register_ip!
  const simulatedSeconds = ((WAVES - 1) * STEP_MS) / 1000
  const bound = rule.capacity + Math.floor(rule.refillPerSecond * simulatedSeconds)
  const accepted = tally.outcomes.accepted ?? 0
  report('registration flood (one IP)', {
    attempts: ATTEMPTS,
    ...tally.outcomes,
    refusedByRegisterIp: router,
    bound,
    simulatedSeconds,
    storedAccounts: stored,
    argon2Evaluations: evaluations,
    seconds,
    canarySamples: rtt.count,
    canaryP99ms: rtt.p99,
    canaryMaxMs: rtt.max,
  })

  assert.ok(accepted <= bound, `${accepted} registrations accepted > ${bound}`)
  assert.ok(accepted > 0, 'the rule throttles registration, it does not shut it')
  assert.equal(Object.keys(tally.outcomes).sort(), ['accepted', 'captcha_required'], JSON.stringify(tally.outcomes))
  assert.is(router, ATTEMPTS - accepted, 'every refusal came from the router rule, before any hashing')
  assert.ok(
    tally.refusals.every((r) => r.payload.errPayload.retryAfter > 0 && r.payload.errPayload.retryAfter <= 1000 / rule.refillPerSecond),
    'retryAfter within one refill interval of register_ip (20 s)',
  )
  for (const reply of tally.replies.filter((r) => r.ok)) assertValidReply('profile:register', reply)
  assert.equal(present, tally.replies.map((r) => r.ok), 'stored accounts = acknowledged registrations')
  assert.is(stored, accepted + 1, 'plus juliet, from the other address')
  assert.ok(evaluations <= bound + 1, `${evaluations} argon2 evaluations for ${accepted} + 1 registrations`)
  assert.ok(other?.ok, JSON.stringify(other))
  assert.ok(login.ok, JSON.stringify(login))
  assert.is(rtt.failures, 0)
  assert.ok(rtt.p99 < 100, `canary p99 ${rtt.p99} ms`)
})

test.run()
