// The seeded fuzzer, smoke tier: a few hundred generated envelopes (every type, anonymous and
// authenticated) and raw frame sequences. 0 problems: every reply well-formed, no internal_error, only
// documented close codes, no uncaught exception, and the server still answers. Seed: HARDENING_SEED.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { TestServer } from '../support/server.ts'
import { fuzzEnvelopes, fuzzFrames } from './fuzz.ts'
import { startQuietServer } from './support.ts'

const seed = Number(process.env.HARDENING_SEED ?? 20261123)
const test = suite<{ t: TestServer; uncaught: unknown[]; onError: (e: unknown) => void }>('hardening: fuzz (smoke)')
test.before(async (ctx) => {
  ctx.t = await startQuietServer()
  ctx.uncaught = []
  ctx.onError = (e) => ctx.uncaught.push(e)
  process.on('uncaughtException', ctx.onError)
  process.on('unhandledRejection', ctx.onError)
})
test.after(async (ctx) => {
  process.off('uncaughtException', ctx.onError)
  process.off('unhandledRejection', ctx.onError)
  await ctx.t.close()
})

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
