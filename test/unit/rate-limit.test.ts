// Token-bucket math and the limiter's memory/SQLite behaviour, driven by a hand clock.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createRateLimiter, msUntilToken, refill, type RuleConfig } from '../../src/rate-limit.ts'
import { openStore } from '../../src/store/index.ts'
import { manualClock } from '../support/server.ts'

const rule: RuleConfig = { capacity: 3, refillPerSecond: 0.5, subject: 'ip' }
const capDefaults = { ipv6Prefix: 64, maxBuckets: 100_000, maxBucketBytes: 16 * 2 ** 20 }

test('refill is linear in elapsed time and capped at capacity', () => {
  assert.is(refill({ tokens: 0, updatedAt: 0 }, rule, 1000), 0.5)
  assert.is(refill({ tokens: 1, updatedAt: 0 }, rule, 2000), 2)
  assert.is(refill({ tokens: 2, updatedAt: 0 }, rule, 60_000), 3)
  // a clock that goes backwards never removes tokens
  assert.is(refill({ tokens: 2, updatedAt: 5000 }, rule, 1000), 2)
})

test('msUntilToken rounds up so retrying after it succeeds', () => {
  assert.is(msUntilToken(1, rule), 0)
  assert.is(msUntilToken(0, rule), 2000)
  assert.is(msUntilToken(0.75, rule), 500)
  assert.is(msUntilToken(0.3333, { ...rule, refillPerSecond: 3 }), 223)
})

function limiterWith(rules: Record<string, RuleConfig>, clock = manualClock(), caps: Partial<typeof capDefaults> = {}) {
  const store = openStore(':memory:', { synchronous: 'normal', busyTimeoutMs: 0 })
  const limiter = createRateLimiter({ ...capDefaults, ...caps, enabled: true, flushIntervalMs: 1000, rules }, store.rateBuckets, clock)
  return { store, limiter, clock }
}

test('a bucket allows capacity requests, then answers an honest wait', () => {
  const { limiter, clock } = limiterWith({ login: rule })
  const charge = [{ rule: limiter.rule('login')!, subject: '10.0.0.1' }]
  for (let i = 0; i < 3; i++) assert.is(limiter.take(charge), 0)
  const wait = limiter.take(charge)
  assert.is(wait, 2000)
  clock.advance(wait - 1)
  assert.ok(limiter.take(charge) > 0, 'one ms early is still refused')
  clock.advance(1)
  assert.is(limiter.take(charge), 0, 'retrying after retryAfter succeeds')
})

test('a cost takes that many tokens (all or none); a cost above capacity takes a full bucket; 0 takes none', () => {
  const { limiter, clock } = limiterWith({ login: rule })
  const charge = [{ rule: limiter.rule('login')!, subject: '10.0.0.1' }]
  assert.is(limiter.take(charge, 2), 0)
  assert.is(limiter.take(charge, 2), 2000, 'one token left: a cost of 2 waits for the second')
  assert.is(limiter.take(charge, 0), 0)
  assert.is(limiter.take(charge), 0, 'the refused cost took nothing')
  assert.is(limiter.take(charge, 100), 6000, 'capped at capacity 3: waits until the bucket is full')
  clock.advance(6000)
  assert.is(limiter.take(charge, 100), 0)
  assert.is(limiter.take(charge), 2000, 'and took all of it')
})

test('wait() answers what take() would, and takes nothing', () => {
  const { limiter, clock } = limiterWith({ login: rule })
  const charge = [{ rule: limiter.rule('login')!, subject: '10.0.0.1' }]
  assert.is(limiter.wait(charge), 0)
  for (let i = 0; i < 3; i++) assert.is(limiter.take(charge), 0)
  assert.is(limiter.wait(charge), 2000)
  assert.is(limiter.wait(charge), 2000, 'asking again took nothing')
  clock.advance(500)
  assert.is(limiter.wait(charge), 1500)
  clock.advance(1500)
  assert.is(limiter.wait(charge), 0)
  assert.is(limiter.take(charge), 0)
})

test('several rules: all or nothing, the longest wait wins', () => {
  const { limiter } = limiterWith({ a: { ...rule, capacity: 1 }, b: { ...rule, capacity: 5, refillPerSecond: 0.1 } })
  const charges = [
    { rule: limiter.rule('a')!, subject: 's' },
    { rule: limiter.rule('b')!, subject: 's' },
  ]
  assert.is(limiter.take(charges), 0)
  assert.is(limiter.take(charges), 2000)
  // b was not charged by the refused attempt: 4 tokens remain
  const bOnly = [charges[1]!]
  for (let i = 0; i < 4; i++) assert.is(limiter.take(bOnly), 0)
  assert.is(limiter.take(bOnly), 10_000)
})

test('subjects are independent; a disabled limiter allows everything', () => {
  const { limiter } = limiterWith({ login: { ...rule, capacity: 1 } })
  const r = limiter.rule('login')!
  assert.is(limiter.take([{ rule: r, subject: 'a' }]), 0)
  assert.is(limiter.take([{ rule: r, subject: 'b' }]), 0)
  assert.ok(limiter.take([{ rule: r, subject: 'a' }]) > 0)
  const store = openStore(':memory:', { synchronous: 'normal', busyTimeoutMs: 0 })
  const off = createRateLimiter({ ...capDefaults, enabled: false, flushIntervalMs: 1000, rules: { login: rule } }, store.rateBuckets, manualClock())
  for (let i = 0; i < 10; i++) assert.is(off.take([{ rule: off.rule('login')!, subject: 'a' }]), 0)
})

test('flush writes drained buckets and forgets refilled ones; a new limiter resumes from the store', () => {
  const clock = manualClock()
  const { limiter, store } = limiterWith({ login: rule, conn: { ...rule, subject: 'connection' } }, clock)
  const r = limiter.rule('login')!
  for (let i = 0; i < 3; i++) limiter.take([{ rule: r, subject: 'ip1' }])
  limiter.take([{ rule: limiter.rule('conn')!, subject: 'c1' }])
  limiter.flush()
  assert.equal(store.rateBuckets.load('login', 'ip1'), { tokens: 0, updatedAt: clock.now() })
  assert.is(store.rateBuckets.load('conn', 'c1'), undefined, 'connection buckets are never persisted')

  const resumed = createRateLimiter({ ...capDefaults, enabled: true, flushIntervalMs: 1000, rules: { login: rule } }, store.rateBuckets, clock)
  assert.is(resumed.take([{ rule: resumed.rule('login')!, subject: 'ip1' }]), 2000)

  clock.advance(10_000)
  limiter.flush()
  assert.is(store.rateBuckets.load('login', 'ip1'), undefined, 'a full bucket is the same as no bucket')
})

test('connection buckets are forgotten once refilled, or when the connection closes', () => {
  const clock = manualClock()
  const { limiter } = limiterWith({ conn: { ...rule, subject: 'connection' } }, clock)
  const r = limiter.rule('conn')!
  limiter.take([{ rule: r, subject: 'c1' }])
  limiter.take([{ rule: r, subject: 'c2' }])
  assert.is(limiter.bucketsInMemory(), 2)
  limiter.flush()
  assert.is(limiter.bucketsInMemory(), 2, 'not yet refilled')
  limiter.dropConnection('c1')
  assert.is(limiter.bucketsInMemory(), 1)
  clock.advance(2000)
  limiter.flush()
  assert.is(limiter.bucketsInMemory(), 0)
})

test('a flood of distinct keys stays under maxBuckets, and evicting never refills a drained bucket', () => {
  const clock = manualClock()
  const slow = { capacity: 3, refillPerSecond: 0.001, subject: 'account' as const }
  const { limiter, store } = limiterWith({ login_account: slow }, clock, { maxBuckets: 100 })
  const r = limiter.rule('login_account')!
  const victim = [{ rule: r, subject: 'account:victim' }]
  for (let i = 0; i < 3; i++) assert.is(limiter.take(victim), 0)
  const wait = limiter.take(victim)
  assert.ok(wait > 0, 'the victim bucket is drained')
  let peak = 0
  // Drained like the victim, so the victim (the oldest of equals) is among the first evicted.
  for (let i = 0; i < 5_000; i++) {
    for (let n = 0; n < 3; n++) limiter.take([{ rule: r, subject: `name:attacker-${i}` }])
    peak = Math.max(peak, limiter.bucketsInMemory())
  }
  assert.ok(peak <= 101, `at most maxBuckets (+ the one being charged) in memory; peak ${peak}`)
  assert.ok(limiter.evictions() > 0, 'buckets were evicted')
  assert.is(limiter.take(victim), wait, 'the drained bucket is as drained as before the flood')
  assert.ok(store.rateBuckets.load('login_account', 'account:victim'), 'it is on disk')
})

test('long keys: the byte cap holds too', () => {
  const { limiter } = limiterWith({ d: { capacity: 1, refillPerSecond: 0.001, subject: 'destination' } }, manualClock(), { maxBucketBytes: 65_536 })
  const r = limiter.rule('d')!
  let peak = 0
  for (let i = 0; i < 2000; i++) {
    limiter.take([{ rule: r, subject: `${'x'.repeat(240)}${i}@example.org` }])
    peak = Math.max(peak, limiter.bytesInMemory())
  }
  assert.ok(peak <= 65_536 + 2000, `bytes in memory stay near maxBucketBytes; peak ${peak}`)
  assert.ok(limiter.bucketsInMemory() < 120, `${limiter.bucketsInMemory()} buckets of ~1 KB each`)
})

test('buckets evicted and then refilled are deleted from SQLite at the next eviction', () => {
  const clock = manualClock()
  const { limiter, store } = limiterWith({ a: { capacity: 2, refillPerSecond: 1, subject: 'account' } }, clock, { maxBuckets: 100 })
  const r = limiter.rule('a')!
  for (let i = 0; i < 150; i++) limiter.take([{ rule: r, subject: `k${i}` }])
  assert.ok(store.rateBuckets.load('a', 'k0'), 'an evicted bucket was written before it left memory')
  clock.advance(10_000)
  for (let i = 150; i < 300; i++) limiter.take([{ rule: r, subject: `k${i}` }])
  assert.is(store.rateBuckets.load('a', 'k0'), undefined, 'its row is gone once it has refilled')
})

test('rulesForType and everyMessageRules select by types; account/destination rules are left to handlers', () => {
  const { limiter } = limiterWith({
    every: { ...rule, subject: 'connection', types: ['*'] },
    login: { ...rule, types: ['profile:login'] },
    account: { ...rule, subject: 'account', types: ['profile:login'] },
    bad: { ...rule, subject: 'connection', types: ['malformed'] },
  })
  assert.equal(limiter.everyMessageRules.map((r) => r.name), ['every'])
  assert.equal(limiter.rulesForType('profile:login').map((r) => r.name), ['login'])
  assert.equal(limiter.rulesForType('server:ping').map((r) => r.name), [])
  assert.equal(limiter.malformedRules.map((r) => r.name), ['bad'])
})

test.run()
