// The seeded fuzzer, smoke tier, time-boxed: envelope batches (every type, anonymous and
// authenticated) and raw frame-sequence batches alternate for HARDENING_FUZZ_SECONDS (default 120),
// half of it with rate limits off (every request reaches its handler) and half with the shipped rules
// on (the refusal path that runs before a type is even checked).
// 0 problems (every reply well-formed, no internal_error, only documented close codes, no socket left
// without an answer or a close), no uncaught exception, no metric label outside the fixed set, the
// server still answers, and RSS stays under twice its value after warm-up.
// Seed: HARDENING_SEED; a problem names its batch's seed, which replays that batch first.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { unexpectedLabels, useFuzzServer, type FuzzContext } from './fuzz.ts'
import { fuzzFor } from './fuzz-loop.ts'
import { report } from './support.ts'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'

const seed = Number(process.env.HARDENING_SEED ?? 20261123)
const seconds = Number(process.env.HARDENING_FUZZ_SECONDS ?? 120)

function fuzzSuite(name: string, overrides: DeepPartial<Config>, boxSeconds: number) {
  const test = suite<FuzzContext>(`hardening: fuzz (smoke, ${name})`)
  useFuzzServer(test, overrides)
  test(`envelopes and raw frame sequences for ${boxSeconds} s (seed ${seed})`, async (ctx) => {
    // A stall is a failure, so its bound is generous for a loaded machine: only a stuck socket waits it out.
    const run = await fuzzFor(ctx, { seconds: boxSeconds, seed, envelopesPerBatch: 200, framesPerBatch: 100, stallMs: 5000 })
    const MiB = 2 ** 20
    report(`fuzz smoke, ${name}`, {
      seconds: run.seconds,
      batches: run.batches,
      envelopes: run.envelopes,
      frameSequences: run.frameSequences,
      errors: JSON.stringify(run.byErrID),
      stalled: run.stalled,
      seed,
      rssBaselineMiB: run.rssBaseline / MiB,
      rssPeakMiB: run.rssPeak / MiB,
    })
    assert.equal(run.problems.slice(0, 20), [])
    assert.is(run.stalled, 0, 'sockets left without an answer or a close')
    assert.equal(ctx.uncaught, [])
    assert.ok(run.ok > 0, 'some requests got past validation')
    assert.ok(run.frameSequences > 0, 'raw frame sequences ran')
    assert.equal(await unexpectedLabels(ctx.t), [], 'metric labels outside the fixed set')
    assert.ok((await (await ctx.t.connect()).request('server:ping')).ok, 'the server still answers')
    assert.ok(run.rssPeak < 2 * run.rssBaseline, `peak RSS ${(run.rssPeak / MiB).toFixed(1)} MiB < 2 × baseline ${(run.rssBaseline / MiB).toFixed(1)} MiB`)
  })
  return test
}

fuzzSuite('rate limits off', {}, Math.max(5, seconds / 2)).run()
// The shipped rules, with a per-connection budget small enough that many frames meet it.
const tight = { messages: { subject: 'connection', types: ['*'], capacity: 20, refillPerSecond: 10 } }
fuzzSuite('shipped rate limits', { ratelimit: { enabled: true, rules: tight as never } }, Math.max(5, seconds / 2)).run()
