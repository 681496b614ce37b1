// The PostgreSQL store's batched look-ups (src/store/postgres/batched-read.ts): the keys asked for in one
// event-loop turn go to the database as one batch, each caller gets its own answer, and a failed batch
// fails only its own callers. (On PostgreSQL itself: test/store/postgres-batched-reads.test.ts.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { batchedRead } from '../../src/store/postgres/batched-read.ts'

/** A loader over `table` that records every batch it was asked for. */
function recording(table: Record<string, string>) {
  const batches: string[][] = []
  let failNext: Error | undefined
  const read = batchedRead(
    async (keys: string[]) => {
      batches.push(keys)
      if (failNext) {
        const error = failNext
        failNext = undefined
        throw error
      }
      return new Map(keys.filter((k) => k in table).map((k) => [k, table[k]!]))
    },
    (key) => key,
    4,
  )
  return { read, batches, fail: (error: Error) => void (failNext = error) }
}

test('the keys of one turn are one batch; each caller gets its own value, undefined when not found', async () => {
  const { read, batches } = recording({ a: 'A', b: 'B', c: 'C' })
  const answers = await Promise.all([read('a'), read('b'), read('x'), read('a')])
  assert.equal(answers, ['A', 'B', undefined, 'A'])
  assert.equal(batches, [['a', 'b', 'x']], 'one batch, a key asked twice sent once')
})

test('a key asked after its turn goes in the next batch, read after it was asked', async () => {
  const table: Record<string, string> = { a: 'old' }
  const { read, batches } = recording(table)
  assert.is(await read('a'), 'old')
  table.a = 'new' // a write that committed before the next request arrived
  assert.is(await read('a'), 'new')
  assert.equal(batches, [['a'], ['a']])
})

test('a batch is bounded: past maxKeys the full batch goes at once and the rest start another', async () => {
  const { read, batches } = recording({ k1: '1', k2: '2', k3: '3', k4: '4', k5: '5', k6: '6' })
  const answers = await Promise.all(['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].map(read))
  assert.equal(answers, ['1', '2', '3', '4', '5', '6'])
  assert.equal(batches, [['k1', 'k2', 'k3', 'k4'], ['k5', 'k6']])
})

test('a failed batch rejects each of its callers with the same error; the next batch works', async () => {
  const { read, batches, fail } = recording({ a: 'A', b: 'B' })
  const lost = new Error('connection lost')
  fail(lost)
  const failed = await Promise.allSettled([read('a'), read('b'), read('a')])
  assert.equal(failed.map((r) => r.status), ['rejected', 'rejected', 'rejected'])
  for (const r of failed) assert.is((r as PromiseRejectedResult).reason, lost)
  assert.equal(await Promise.all([read('a'), read('b')]), ['A', 'B'])
  assert.is(batches.length, 2)
})

test('a loader that throws before returning a promise fails its batch, not the caller that opened it', async () => {
  let calls = 0
  const read = batchedRead(
    (keys: string[]) => {
      if (calls++ === 0) throw new Error('bad keys')
      return Promise.resolve(new Map(keys.map((k) => [k, k.toUpperCase()])))
    },
    (key) => key,
  )
  const first = read('a')
  const settled = await Promise.allSettled([first, read('b')])
  assert.equal(settled.map((r) => r.status), ['rejected', 'rejected'])
  assert.is(await read('c'), 'C')
})

test.run()
