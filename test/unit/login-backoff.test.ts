// The login backoff's curve and the bounded in-memory state of names that find no account.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { backoffDelay, blockAfter, createNameBackoff } from '../../src/accounts/login-backoff.ts'

const policy = { freeFailures: 3, baseMs: 1000, maxMs: 300_000 }

test('the curve: free failures, then baseMs doubling up to maxMs', () => {
  assert.equal([1, 2, 3, 4, 5, 6, 12, 40].map((n) => backoffDelay(policy, n)), [0, 0, 0, 1000, 2000, 4000, 256_000, 300_000])
})

test('a free failure sets no block at all (not one ending now, which would refuse a concurrent attempt read a moment earlier)', () => {
  assert.equal([1, 3, 4, 5].map(blockAfter(policy, 5_000)), [0, 0, 6_000, 7_000])
})

test('an unknown name is blocked like an account after the free failures; a claim while blocked is refused and not counted', () => {
  const names = createNameBackoff()
  for (let i = 0; i < 3; i++) assert.is(names.recordFailure('u:nobody', 0, policy), 0)
  assert.is(names.blockedUntil('u:nobody'), 0)
  assert.is(names.recordFailure('u:nobody', 0, policy), 0, 'the 4th attempt is claimed, and its count blocks the next')
  assert.is(names.blockedUntil('u:nobody'), 1000)
  assert.is(names.recordFailure('u:nobody', 999, policy), 1000, 'refused with the block in place')
  // Once it has passed, the next attempt counts as the 5th failure (2,000 ms), not the 6th.
  assert.is(names.recordFailure('u:nobody', 1000, policy), 0)
  assert.is(names.blockedUntil('u:nobody'), 3000)
})

test('a flood of 50,000 distinct names keeps at most maxEntries; the least recently failed go first', () => {
  const names = createNameBackoff(10_000)
  for (let i = 0; i < 4; i++) names.recordFailure('u:kept', 0, policy)
  for (let i = 0; i < 50_000; i++) {
    names.recordFailure(`u:flood${i}`, 0, policy)
    if (i % 5_000 === 0) names.recordFailure('u:kept', 0, policy) // still tried now and then (refused, blocked): not evicted
    assert.ok(names.size <= 10_000)
  }
  assert.is(names.size, 10_000)
  assert.ok(names.blockedUntil('u:kept') > 0, 'a name that keeps failing keeps its state')
  assert.is(names.blockedUntil('u:flood0'), 0, 'the stalest went')
})

test.run()
