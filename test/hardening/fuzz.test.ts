// The seeded fuzzer, smoke tier: a few hundred generated envelopes (every type, anonymous and
// authenticated) and raw frame sequences. 0 problems: every reply well-formed, no internal_error, only
// documented close codes, no uncaught exception, and the server still answers. Seed: HARDENING_SEED.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fuzzEnvelopes, fuzzFrames, useFuzzServer, type FuzzContext } from './fuzz.ts'

const seed = Number(process.env.HARDENING_SEED ?? 20261123)
const test = suite<FuzzContext>('hardening: fuzz (smoke)')
useFuzzServer(test)

test(`envelopes of every type (seed ${seed})`, async ({ t, uncaught }) => {
  const stats = await fuzzEnvelopes(t, { runs: 400, seed })
  assert.equal(stats.problems, [])
  assert.equal(uncaught, [])
  assert.ok(stats.ok > 0, 'some requests got past validation')
  assert.ok((await (await t.connect()).request('server:ping')).ok)
})

test(`raw frame sequences (seed ${seed})`, async ({ t, uncaught }) => {
  const stats = await fuzzFrames(t, { runs: 150, seed, stallMs: 500 })
  assert.equal(stats.problems, [])
  assert.equal(uncaught, [])
  assert.ok((await (await t.connect()).request('server:ping')).ok)
})

test.run()
