// Registration flood from one address, smoke tier: 50 profile:register attempts with distinct names from
// 5 connections on 127.0.0.1, with the shipped rules on a hand-driven clock. register_ip accepts at most
// exactly its 5, the rest answer ratelimit_exceed (never internal_error), the store holds exactly the acknowledged
// accounts, another address still registers, and 20 s of refill admit exactly one more.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { assertValidReply } from '../support/schemas.ts'
import { manualClock, startTestServer, type TestServer } from '../support/server.ts'
import { routerRefusals, sendWaves, withChallenge, type Attempt } from './abuse.ts'

const clock = manualClock()
const ATTEMPTS = 50
const password = 'wallflower-orbit-93-kestrel'
// A captcha rule (contract §15): the refusal carries a fresh challenge, compared by its shape (withChallenge).
const throttled = { errID: 'captcha_required', errText: errors.captcha_required, errPayload: { challenge: 'signed', retryAfter: 20_000 } }

const test = suite<{ t: TestServer }>('hardening: registration flood from one address')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ ratelimit: { enabled: true } }, { clock })
})
test.after(async (ctx) => ctx.t.close())

test('exactly register_ip\'s capacity is accepted, the rest refused, the store agrees, another address registers', async ({ t }) => {
  const rule = t.config.ratelimit.rules.register_ip!
  assert.equal([rule.capacity, rule.refillPerSecond], [5, 0.05], 'the shipped rule')
  const attempts: Attempt[] = Array.from({ length: ATTEMPTS }, (_, i) => ({ type: 'profile:register', payload: { username: `flood${i}`, password } }))
  const attackers = await Promise.all(Array.from({ length: 5 }, () => t.connect()))
  const routerBefore = await routerRefusals(t.server, 'profile:register')

  const tally = await sendWaves(attackers, attempts, { waves: 1, step: () => {} })
  const accepted = tally.outcomes.accepted ?? 0
  // The clock stands still: nothing refills during the flood, so exactly the bucket's capacity gets through.
  assert.is(accepted, rule.capacity, JSON.stringify(tally.outcomes))
  assert.is(tally.outcomes.captcha_required, ATTEMPTS - accepted, JSON.stringify(tally.outcomes))
  for (const refusal of tally.refusals) assert.equal(withChallenge(refusal.payload), throttled)
  assert.is((await routerRefusals(t.server, 'profile:register')) - routerBefore, tally.refusals.length, 'refused by the router rule')
  for (const reply of tally.replies.filter((r) => r.ok)) assertValidReply('profile:register', reply)

  // The store holds exactly what was acknowledged.
  const accounts = t.server.store.accounts
  const present = await Promise.all(attempts.map(async (a) => (await accounts.byUsername((a.payload as { username: string }).username)) !== undefined))
  assert.equal(present, tally.replies.map((r) => r.ok))
  assert.is(await accounts.count(), accepted)

  // Another address registers; the flooding one is still refused until 20 s have refilled one token.
  const other = await t.connect({ localAddress: '127.0.0.2' })
  const juliet = await other.request('profile:register', { username: 'juliet', password })
  assert.ok(juliet.ok, JSON.stringify(juliet))
  assertValidReply('profile:register', juliet)
  assert.equal(withChallenge((await attackers[0]!.request('profile:register', { username: 'late0', password })).payload), throttled)
  clock.advance(1000 / rule.refillPerSecond)
  assert.ok((await attackers[1]!.request('profile:register', { username: 'late1', password })).ok)
  assert.equal(withChallenge((await attackers[2]!.request('profile:register', { username: 'late2', password })).payload), throttled)
  assert.is(await accounts.count(), accepted + 2)
})

test.run()
