// The seeded fuzzer, smoke tier, time-boxed: envelope batches (every type, anonymous and
// authenticated) and raw frame-sequence batches alternate for HARDENING_FUZZ_SECONDS (default 120).
// 0 problems (every reply well-formed, no internal_error, only documented close codes), no uncaught
// exception, the server still answers, and RSS stays under twice its value after warm-up.
// Seed: HARDENING_SEED; a problem names its batch's seed, which replays that batch first.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { useFuzzServer, type FuzzContext } from './fuzz.ts'
import { fuzzFor } from './fuzz-loop.ts'
import { report } from './support.ts'

const seed = Number(process.env.HARDENING_SEED ?? 20261123)
const seconds = Number(process.env.HARDENING_FUZZ_SECONDS ?? 120)
const test = suite<FuzzContext>('hardening: fuzz (smoke)')
useFuzzServer(test)

test(`envelopes and raw frame sequences for ${seconds} s (seed ${seed})`, async (ctx) => {
  const run = await fuzzFor(ctx, { seconds, seed, envelopesPerBatch: 200, framesPerBatch: 100, stallMs: 500 })
  const MiB = 2 ** 20
  report('fuzz smoke', {
    seconds: run.seconds,
    batches: run.batches,
    envelopes: run.envelopes,
    frameSequences: run.frameSequences,
    seed,
    rssBaselineMiB: run.rssBaseline / MiB,
    rssPeakMiB: run.rssPeak / MiB,
  })
  assert.equal(run.problems.slice(0, 20), [])
  assert.equal(ctx.uncaught, [])
  assert.ok(run.ok > 0, 'some requests got past validation')
  assert.ok(run.frameSequences > 0, 'raw frame sequences ran')
  assert.ok((await (await ctx.t.connect()).request('server:ping')).ok, 'the server still answers')
  assert.ok(run.rssPeak < 2 * run.rssBaseline, `peak RSS ${(run.rssPeak / MiB).toFixed(1)} MiB < 2 × baseline ${(run.rssBaseline / MiB).toFixed(1)} MiB`)
})

test.run()
