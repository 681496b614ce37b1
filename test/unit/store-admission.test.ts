// The read cache's doorkeeper (src/store/admission.ts): which misses are cached, and for how long a key is remembered.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createDoorkeeper } from '../../src/store/admission.ts'

/** `count` misses of keys seen nowhere else. */
const strangers = (doorkeeper: ReturnType<typeof createDoorkeeper>, count: number) => {
  for (let i = 0; i < count; i++) doorkeeper.admit(`stranger${i}`)
}

test('a key is admitted on its second miss, not its first', () => {
  const doorkeeper = createDoorkeeper(2 ** 16, 100)
  assert.is(doorkeeper.admit('romeo'), false)
  assert.is(doorkeeper.admit('romeo'), true)
  assert.is(doorkeeper.admit('juliet'), false)
})

test('a key is remembered for the next 2 × generation − 1 misses, and forgotten at the one after', () => {
  // Two filters of 100 misses each: romeo's, then the one after it; the 200th miss after romeo clears his.
  const remembered = createDoorkeeper(2 ** 16, 100)
  remembered.admit('romeo')
  strangers(remembered, 199)
  assert.is(remembered.admit('romeo'), true, '199 misses later')
  const forgotten = createDoorkeeper(2 ** 16, 100)
  forgotten.admit('romeo')
  strangers(forgotten, 200)
  assert.is(forgotten.admit('romeo'), false, '200 misses later')
})

test('admitted misses count toward a generation too: a cache admitting most misses still forgets', () => {
  // Counting only the misses turned away, a hot key missed again and again (evicted, re-read) never turned
  // the filters, and every key ever seen stayed admitted.
  const doorkeeper = createDoorkeeper(2 ** 16, 100)
  doorkeeper.admit('romeo')
  doorkeeper.admit('juliet')
  for (let i = 0; i < 300; i++) assert.is(doorkeeper.admit('juliet'), true)
  assert.is(doorkeeper.admit('romeo'), false)
})

test('bits must be a power of two of at least 32', () => {
  assert.throws(() => createDoorkeeper(1000), /power of two/)
  assert.throws(() => createDoorkeeper(16), /power of two/)
  createDoorkeeper(32)
})

test.run()
