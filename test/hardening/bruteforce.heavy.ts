// Heavy tier: 1,000 wrong passwords against one account from 50 connections on 10 addresses, with the
// shipped rate-limit rules and argon2 cost. Accepted guesses 0, argon2 evaluations bounded by the
// login_account bucket, the right password answers like a throttled wrong one, and the owner still
// gets in with a code.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig } from '../../src/config.ts'
import { startCodeServer, obtainToken, type CodeServer } from '../support/codes.ts'
import { report, startCanary } from './support.ts'
import { verifyThirdPIDs } from '../support/accounts.ts'

const shipped = loadConfig()
const password = 'the-real-balcony-scene-2'
const test = suite<{ t: CodeServer }>('hardening (heavy): password guessing on one account')
test.before(async (ctx) => {
  ctx.t = await startCodeServer({ ratelimit: { enabled: true }, password: { argon2: shipped.password.argon2 } })
  const c = await ctx.t.connect({ localAddress: '127.0.5.1' })
  const reg = await c.request('profile:register', { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }] })
  assert.ok(reg.ok, JSON.stringify(reg))
  await verifyThirdPIDs(ctx.t, 'juliet') // login codes go only to proven addresses
})
test.after(async (ctx) => ctx.t.close())

test('1,000 wrong guesses from 50 connections: 0 accepted, evaluations bounded, owner gets in by code', async ({ t }) => {
  const canaryClient = await t.connect({ localAddress: '127.0.5.2' })
  const canary = startCanary(canaryClient)
  const before = t.server.deps.passwords.evaluations
  const started = performance.now()
  const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => t.connect({ localAddress: `127.0.6.${1 + (i % 10)}` })))
  const outcomes: Record<string, number> = {}
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = 0; k < 20; k++) {
        const reply = await c.request('profile:login', { username: 'juliet', password: `guess-${i}-${k}-not-it` })
        const key = reply.ok ? 'accepted' : reply.payload.errID
        outcomes[key] = (outcomes[key] ?? 0) + 1
      }
    }),
  )
  const elapsedSeconds = (performance.now() - started) / 1000
  const evaluations = t.server.deps.passwords.evaluations - before
  // The right password now: refused exactly like a throttled wrong one (no oracle).
  const right = await clients[0]!.request('profile:login', { username: 'juliet', password })
  const rtt = await canary.stop()

  const rule = t.config.ratelimit.rules.login_account!
  const bound = rule.capacity + Math.ceil(rule.refillPerSecond * elapsedSeconds) + 1
  report('password guessing', {
    attempts: 1000,
    ...outcomes,
    argon2Evaluations: evaluations,
    bound,
    seconds: elapsedSeconds,
    rightPasswordDuringThrottle: right.ok ? 'accepted' : right.payload.errID,
    canarySamples: rtt.count,
    canaryP99ms: rtt.p99,
    canaryMaxMs: rtt.max,
  })
  assert.is(outcomes.accepted, undefined, 'no guess accepted')
  assert.ok(evaluations <= bound, `${evaluations} argon2 evaluations > ${bound}`)
  assert.is(right.payload.errID, 'ratelimit_exceed')
  assert.is(rtt.failures, 0)
  assert.ok(rtt.p99 < 100, `canary p99 ${rtt.p99} ms`)

  // The owner, from elsewhere, logs in with a code: the attacker cannot lock them out.
  const owner = await t.connect({ localAddress: '127.0.5.3' })
  const token = await obtainToken(t, owner, { purpose: 'login', thirdPID: 'juliet@verona.example' }, 'juliet@verona.example')
  const login = await owner.request('profile:login', { thirdPID: 'juliet@verona.example', verificationToken: token })
  assert.ok(login.ok, JSON.stringify(login))
})

test.run()
