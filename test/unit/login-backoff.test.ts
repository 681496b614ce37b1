// The login backoff's curve and the bounded in-memory state of names that find no account.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { backoffDelay, createNameBackoff } from '../../src/accounts/login-backoff.ts'

const policy = { freeFailures: 3, baseMs: 1000, maxMs: 300_000 }

test('the curve: free failures, then baseMs doubling up to maxMs', () => {
  assert.equal([1, 2, 3, 4, 5, 6, 12, 40].map((n) => backoffDelay(policy, n)), [0, 0, 0, 1000, 2000, 4000, 256_000, 300_000])
})

test('an unknown name is blocked like an account after the free failures, and a block never shrinks', () => {
  const names = createNameBackoff()
  for (let i = 0; i < 3; i++) names.recordFailure('u:nobody', 0, policy)
  assert.is(names.blockedUntil('u:nobody'), 0)
  names.recordFailure('u:nobody', 0, policy)
  assert.is(names.blockedUntil('u:nobody'), 1000)
  // A failure under a shorter policy (a config change) keeps the longer block in place.
  names.recordFailure('u:nobody', 0, { ...policy, baseMs: 1 })
  assert.is(names.blockedUntil('u:nobody'), 1000)
})

test('a flood of 50,000 distinct names keeps at most maxEntries; the least recently failed go first', () => {
  const names = createNameBackoff(10_000)
  for (let i = 0; i < 4; i++) names.recordFailure('u:kept', 0, policy)
  for (let i = 0; i < 50_000; i++) {
    names.recordFailure(`u:flood${i}`, 0, policy)
    if (i % 5_000 === 0) names.recordFailure('u:kept', 0, policy) // still failing now and then: not evicted
    assert.ok(names.size <= 10_000)
  }
  assert.is(names.size, 10_000)
  assert.ok(names.blockedUntil('u:kept') > 0, 'a name that keeps failing keeps its state')
  assert.is(names.blockedUntil('u:flood0'), 0, 'the stalest went')
})

test.run()
