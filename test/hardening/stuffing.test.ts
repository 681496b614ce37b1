// Credential stuffing from one address, smoke tier: 100 wrong (username, password) pairs over 20 accounts
// and unknown names from 5 connections on 127.0.0.1, with the shipped rules on a hand-driven clock.
// Nothing is accepted, login_ip refuses the excess with an honest retryAfter before any argon2 runs, its
// refill admits exactly one more guess per 2 s, and a user on another address is unaffected.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createAccount } from '../../src/accounts/create.ts'
import { errors } from '../../src/errors.ts'
import { assertValidReply } from '../support/schemas.ts'
import { manualClock, startTestServer, type TestServer } from '../support/server.ts'
import { routerRefusals, sendWaves, withChallenge, type Attempt } from './abuse.ts'

const clock = manualClock()
const ACCOUNTS = 20
const ATTEMPTS = 100
const julietPassword = 'the-real-balcony-scene-2'
// A captcha rule (contract §15): the refusal carries a fresh challenge, compared by its shape (withChallenge).
const throttled = { errID: 'captcha_required', errText: errors.captcha_required, errPayload: { challenge: 'signed', retryAfter: 2000 } }

const test = suite<{ t: TestServer }>('hardening: credential stuffing from one address')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ ratelimit: { enabled: true } }, { clock })
  const deps = ctx.t.server.deps
  const seed = (username: string, password: string) => createAccount(deps, { username, thirdPIDs: [], password, status: 'active' })
  await Promise.all([...Array.from({ length: ACCOUNTS }, (_, i) => seed(`user${i}`, `own-secret-${i}-lantern`)), seed('juliet', julietPassword)])
})
test.after(async (ctx) => ctx.t.close())

test('nothing accepted, login_ip refuses past its 30, another address logs in, refill is one guess per 2 s', async ({ t }) => {
  const rule = t.config.ratelimit.rules.login_ip!
  assert.equal([rule.capacity, rule.refillPerSecond], [30, 0.5], 'the shipped rule')
  // 4 pairs per account: the 4th failure is the first that blocks an account, so the backoff refuses none.
  let known = 0
  const attempts: Attempt[] = Array.from({ length: ATTEMPTS }, (_, i) => ({
    type: 'profile:login',
    payload: { username: i % 5 === 4 ? `ghost${i}` : `user${known++ % ACCOUNTS}`, password: `breached-${i}-hunter2` },
  }))
  const attackers = await Promise.all(Array.from({ length: 5 }, () => t.connect()))
  const evaluationsBefore = t.server.deps.passwords.evaluations
  const routerBefore = await routerRefusals(t.server, 'profile:login')

  const tally = await sendWaves(attackers, attempts, { waves: 1, step: () => {} })
  assert.is(tally.outcomes.accepted, undefined)
  assert.equal(Object.keys(tally.outcomes).sort(), ['captcha_required', 'invalid_creds'])
  assert.ok(tally.outcomes.captcha_required! >= ATTEMPTS - rule.capacity, JSON.stringify(tally.outcomes))
  for (const refusal of tally.refusals) assert.equal(withChallenge(refusal.payload), throttled)
  assert.is((await routerRefusals(t.server, 'profile:login')) - routerBefore, tally.refusals.length, 'refused by the router rule')
  assert.ok(t.server.deps.passwords.evaluations - evaluationsBefore <= rule.capacity, 'argon2 runs only for what login_ip admitted')

  // Another address is unaffected: right password in, and a wrong one answers invalid_creds, not a throttle.
  const other = await t.connect({ localAddress: '127.0.0.2' })
  const juliet = await other.request('profile:login', { username: 'juliet', password: julietPassword })
  assert.ok(juliet.ok, JSON.stringify(juliet))
  assertValidReply('profile:login', juliet)
  assert.is((await other.request('profile:login', { username: 'user3', password: 'not-it-either' })).payload.errID, 'invalid_creds')

  // The attacker's address: a right pair is refused too, then 2 s of refill admit exactly one attempt.
  const rightPair = await attackers[0]!.request('profile:login', { username: 'user1', password: 'own-secret-1-lantern' })
  assert.equal(withChallenge(rightPair.payload), throttled)
  clock.advance(1000 / rule.refillPerSecond)
  const before = t.server.deps.passwords.evaluations
  assert.is((await attackers[1]!.request('profile:login', { username: 'ghost-late', password: 'breached-late' })).payload.errID, 'invalid_creds')
  assert.equal(withChallenge((await attackers[2]!.request('profile:login', { username: 'ghost-later', password: 'breached-later' })).payload), throttled)
  assert.is(t.server.deps.passwords.evaluations - before, 1)
})

test.run()
