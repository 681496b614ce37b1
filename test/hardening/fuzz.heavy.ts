// Heavy tier: the smoke tier's time-boxed fuzzer with more parallelism and bigger batches, beside a
// canary client, for HARDENING_HEAVY_FUZZ_SECONDS (default 40; HARDENING_SEED picks the seed, printed).
// 0 problems (a stalled socket is one), 0 uncaught exceptions, no metric label outside the fixed set, RSS under twice its value after warm-up, no canary failure, the
// server still answers.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { unexpectedLabels, useFuzzServer, type FuzzContext } from './fuzz.ts'
import { fuzzFor } from './fuzz-loop.ts'
import { report, startCanary } from './support.ts'

const seed = Number(process.env.HARDENING_SEED ?? Date.now() % 2 ** 31)
const seconds = Number(process.env.HARDENING_HEAVY_FUZZ_SECONDS ?? 40)
const test = suite<FuzzContext>('hardening (heavy): fuzz')
useFuzzServer(test)

test(`envelopes × 8 lanes and raw frame sequences × 40 for ${seconds} s (seed ${seed})`, async (ctx) => {
  const canary = startCanary(await ctx.t.connect())
  const run = await fuzzFor(ctx, { seconds, seed, envelopesPerBatch: 600, framesPerBatch: 400, lanes: 8, parallel: 40, stallMs: 5000 })
  const rtt = await canary.stop()
  const MiB = 2 ** 20
  report('fuzz', {
    seed,
    seconds: run.seconds,
    batches: run.batches,
    envelopes: run.envelopes,
    okReplies: run.ok,
    errors: JSON.stringify(run.byErrID),
    frameSequences: run.frameSequences,
    closes: JSON.stringify(run.closes),
    stalled: run.stalled,
    problems: run.problems.length,
    uncaught: ctx.uncaught.length,
    rssBaselineMiB: run.rssBaseline / MiB,
    rssPeakMiB: run.rssPeak / MiB,
    canarySamples: rtt.count,
    canaryP99ms: rtt.p99,
  })
  assert.equal(run.problems.slice(0, 20), [])
  assert.is(run.stalled, 0, 'sockets left without an answer or a close')
  assert.equal(ctx.uncaught, [])
  assert.equal(await unexpectedLabels(ctx.t), [], 'metric labels outside the fixed set')
  assert.ok(run.rssPeak < 2 * run.rssBaseline, 'RSS < 2 × baseline')
  assert.is(rtt.failures, 0)
  assert.ok((await (await ctx.t.connect()).request('server:ping')).ok)
})

test.run()
