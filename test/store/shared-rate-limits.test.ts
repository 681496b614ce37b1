// The rules that guard secrets (subjects account, destination, requester_destination) on either engine
// (HAFNIUM_TEST_ENGINE): on PostgreSQL three limiters on three stores (three nodes) share one budget,
// taken in the database; on SQLite one process's in-memory limiter is the whole budget already.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createRateLimiter, RuleRefusal, type RateLimiter, type RuleConfig } from '../../src/rate-limit.ts'
import { createNameBackoff, createSharedNameBackoff } from '../../src/accounts/login-backoff.ts'
import { manualClock } from '../support/server.ts'
import { testEngine } from '../support/engine.ts'
import { openTestStores, outcomes, type TestStores } from './support.ts'
import { accountBucketPrefix, findByLoginKeyCharging, loginBucket } from '../../src/accounts/lookup.ts'

const rules: Record<string, RuleConfig> = {
  login_account: { subject: 'account', capacity: 10, refillPerSecond: 0.0001 },
  quick: { subject: 'account', capacity: 2, refillPerSecond: 10 },
  code_requester: { subject: 'requester_destination', capacity: 1, refillPerSecond: 0.0001 },
  code_destination: { subject: 'destination', capacity: 3, refillPerSecond: 0.0001 },
  login_ip: { subject: 'ip', types: ['profile:login'], capacity: 5, refillPerSecond: 0.0001 },
}

interface Nodes {
  s: TestStores
  clock: ReturnType<typeof manualClock>
  limiters: [RateLimiter, RateLimiter, RateLimiter]
}

const test = suite<Nodes>(`shared rate limits (${testEngine})`)
test.before.each(async (ctx) => {
  ctx.s = await openTestStores()
  ctx.clock = manualClock()
  const config = { enabled: true, flushIntervalMs: 1000, ipv6Prefix: 64, maxBuckets: 100_000, maxBucketBytes: 16 * 2 ** 20, rules }
  const make = (i: number) => createRateLimiter(config, ctx.s.nodes[i]!.rateBuckets, ctx.clock)
  // One process per SQLite file: one limiter, handed out three times (as the store is).
  ctx.limiters = testEngine === 'sqlite' ? ([make(0), make(0), make(0)].map((_, __, all) => all[0]!) as Nodes['limiters']) : [make(0), make(1), make(2)]
})
test.after.each(async (ctx) => {
  for (const limiter of new Set(ctx.limiters)) limiter.close()
  await ctx.s.close()
})

const refusals = (work: Promise<unknown>[]) => outcomes(work.map((p) => p.then(() => 'taken')))

test('30 password attempts racing over three nodes on one account: exactly capacity (10) taken', async ({ limiters }) => {
  const counts = await refusals(Array.from({ length: 30 }, (_, i) => limiters[i % 3]!.enforceExact('login_account', 'account:acc-1')))
  assert.equal(counts, { taken: 10, 'RuleRefusal:ratelimit_exceed': 20 })
  // Another account's bucket is its own.
  await limiters[1].enforceExact('login_account', 'account:acc-2')
})

test('a refusal says when the next token comes, and it does come then on any node (refill)', async ({ limiters, clock }) => {
  await limiters[0].enforceExact('quick', 'account:a')
  await limiters[1].enforceExact('quick', 'account:a')
  const refused = await limiters[2].enforceExact('quick', 'account:a').then(
    () => undefined,
    (error: unknown) => error,
  )
  assert.instance(refused, RuleRefusal)
  assert.is((refused as RuleRefusal).errPayload?.retryAfter, 100, 'one token per 100 ms')
  clock.advance(99)
  const early = (await limiters[0].takeExact([{ rule: limiters[0].rule('quick')!, subject: 'account:a' }])).wait
  assert.ok(early >= 1 && early <= 2, `one ms early is still refused (wait ${early}, float rounding up)`)
  clock.advance(1)
  await limiters[0].enforceExact('quick', 'account:a')
  clock.advance(10_000)
  for (const limiter of limiters.slice(0, 2)) await limiter.enforceExact('quick', 'account:a')
  assert.ok((await limiters[2].takeExact([{ rule: limiters[2].rule('quick')!, subject: 'account:a' }])).wait > 0, 'refilled to capacity, not beyond')
})

test('several rules are taken all or none, and the answer says when the next send is allowed', async ({ limiters }) => {
  const charges = (limiter: RateLimiter, requester: string) => [
    { rule: limiter.rule('code_requester')!, subject: `${requester} email:j@verona.example` },
    { rule: limiter.rule('code_destination')!, subject: 'email:j@verona.example' },
  ]
  assert.equal(await limiters[0].takeExact(charges(limiters[0], 'ip:10.0.0.1')), { wait: 0, next: 10_000_000 })
  const refused = await limiters[1].takeExact(charges(limiters[1], 'ip:10.0.0.1'))
  assert.is(refused.wait, 10_000_000, 'the requester budget is spent')
  // The refused take left the destination's bucket alone: 2 of its 3 remain, for other requesters.
  assert.is((await limiters[2].takeExact(charges(limiters[2], 'ip:10.0.0.2'))).wait, 0)
  assert.is((await limiters[0].takeExact(charges(limiters[0], 'ip:10.0.0.3'))).wait, 0)
  assert.ok((await limiters[1].takeExact(charges(limiters[1], 'ip:10.0.0.4'))).wait > 0, 'the destination has had its 3')
})

test('shared buckets never pass through memory, so nothing is counted twice', async ({ s, limiters }) => {
  for (let i = 0; i < 4; i++) await limiters[i % 3]!.enforceExact('login_account', 'account:acc-1')
  for (const limiter of limiters) limiter.flush()
  const charge = [{ rule: limiters[0].rule('login_account')!, subject: 'account:acc-1' }]
  if (testEngine === 'postgres') {
    for (const limiter of limiters) assert.is(limiter.bucketsInMemory(), 0)
    assert.throws(() => limiters[0].take(charge), /shared: charge it with takeExact/)
    assert.throws(() => limiters[0].wait(charge), /shared/)
  }
  // A node started now (a fresh limiter) sees the same 6 tokens left: 6 more taken, then refused.
  const config = { enabled: true, flushIntervalMs: 1000, ipv6Prefix: 64, maxBuckets: 100_000, maxBucketBytes: 16 * 2 ** 20, rules }
  const fresh = testEngine === 'postgres' ? createRateLimiter(config, s.nodes[1].rateBuckets, manualClock()) : limiters[0]
  const counts = await refusals(Array.from({ length: 8 }, () => fresh.enforceExact('login_account', 'account:acc-1')))
  assert.equal(counts, { taken: 6, 'RuleRefusal:ratelimit_exceed': 2 })
  // Per-node rules stay in memory as before.
  assert.is(fresh.take([{ rule: fresh.rule('login_ip')!, subject: '10.0.0.1' }]), 0)
  assert.ok(fresh.bucketsInMemory() >= 1)
})

test("a login's account read takes its login_account charge in the same statement: exact over three nodes, found or not", async ({ s, limiters }) => {
  await s.store.accounts.create({
    id: 'acc-romeo',
    username: 'romeo',
    userID: '@romeo:localhost',
    passwordHash: 'hash',
    status: 'active',
    profile: {},
    thirdPIDs: [{ type: 'email', value: 'romeo@verona.example', verified: true }],
    now: 1,
  })
  let together = 0
  const login = (i: number, key: string) =>
    limiters[i % 3]!.enforceExactOnFind('login_account', { prefix: accountBucketPrefix, otherwise: loginBucket(undefined, key) }, async (charge) => {
      const result = await findByLoginKeyCharging(s.nodes[i % 3]!.accounts, key, charge)
      if (result.took) together++
      return result
    })
  // By username and by email: one account, one bucket (capacity 10); a name found nowhere has its own.
  const found = await outcomes(Array.from({ length: 30 }, (_, i) => login(i, i % 2 ? 'u:romeo' : 'email:romeo@verona.example').then((a) => a?.id ?? 'none')))
  assert.equal(found, { 'acc-romeo': 10, 'RuleRefusal:ratelimit_exceed': 20 })
  const missing = await outcomes(Array.from({ length: 12 }, (_, i) => login(i, 'u:nobody').then((a) => a?.id ?? 'none')))
  assert.equal(missing, { none: 10, 'RuleRefusal:ratelimit_exceed': 2 })
  // On PostgreSQL every charge went with its read (one round trip); on SQLite none could.
  assert.is(together, testEngine === 'postgres' ? 42 : 0)
  // The same buckets as enforceExact's: both are spent.
  for (const subject of ['account:acc-romeo', 'name:u:nobody']) {
    const refused = await limiters[0].enforceExact('login_account', subject).then(() => undefined, (error: unknown) => error)
    assert.instance(refused, RuleRefusal, subject)
    assert.ok((refused as RuleRefusal).errPayload!.retryAfter as number > 0)
  }
})

test('the backoff of a name that finds no account counts every attempt, whichever node claims it', async ({ s, clock }) => {
  // One process per SQLite file keeps it in memory; on PostgreSQL each node has its own handle on the table.
  const memory = createNameBackoff()
  const nodes = s.nodes.map((node) => (node.loginNames ? createSharedNameBackoff(node.loginNames) : memory))
  assert.is(s.store.loginNames !== undefined, testEngine === 'postgres')
  const policy = { freeFailures: 4, baseMs: 1_000, maxMs: 10 ** 9 }
  const now = clock.now()
  const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => nodes[i % 3]!.recordFailure('name:nobody', now, policy)))
  // The 5th claimed attempt blocks the rest; with each node counting its own, 5 per node (15) would get through.
  assert.is(claims.filter((blocked) => blocked === 0).length, 5, JSON.stringify(claims))
  assert.ok(claims.every((blocked) => blocked === 0 || blocked === now + 1_000), JSON.stringify(claims))
  for (const node of nodes) assert.is(await node.blockedUntil('name:nobody'), now + 1_000)
  assert.is(await nodes[0]!.blockedUntil('name:somebody-else'), 0)
  if (s.store.loginNames) {
    assert.is(await s.store.loginNames.prune(now), 0, 'failed just now: kept')
    assert.is(await s.store.loginNames.prune(now + 1), 1, 'a day later (the caller says when): forgotten')
    assert.is(await nodes[1]!.blockedUntil('name:nobody'), 0)
  }
})

test.run()
