// Heavy tier: the seeded fuzzer with many runs (HARDENING_SEED picks the seed; it is printed). 0
// problems, 0 uncaught exceptions, RSS under twice its value at the start, the server still answers.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fuzzEnvelopes, fuzzFrames, useFuzzServer, type FuzzContext } from './fuzz.ts'
import { report, startCanary } from './support.ts'

const seed = Number(process.env.HARDENING_SEED ?? Date.now() % 2 ** 31)
const ENVELOPES = 6000
const FRAMES = 2000
const test = suite<FuzzContext>('hardening (heavy): fuzz')
useFuzzServer(test)

test(`${ENVELOPES} envelopes × 2 sockets and ${FRAMES} raw frame sequences (seed ${seed})`, async ({ t, uncaught }) => {
  const canaryClient = await t.connect()
  const canary = startCanary(canaryClient)
  const rssBefore = process.memoryUsage().rss
  let rssPeak = rssBefore
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100)
  const started = performance.now()
  const envelopes = await fuzzEnvelopes(t, { runs: ENVELOPES, seed, lanes: 8 })
  const frames = await fuzzFrames(t, { runs: FRAMES, seed, parallel: 40, stallMs: 1000 })
  clearInterval(sampler)
  const rtt = await canary.stop()
  report('fuzz', {
    seed,
    seconds: (performance.now() - started) / 1000,
    envelopesSent: envelopes.sent,
    okReplies: envelopes.ok,
    errors: JSON.stringify(envelopes.byErrID),
    envelopeCloses: JSON.stringify(envelopes.closes),
    frameSequences: frames.sent,
    frameCloses: JSON.stringify(frames.closes),
    stalled: frames.stalled,
    problems: envelopes.problems.length + frames.problems.length,
    uncaught: uncaught.length,
    rssStartMiB: rssBefore / 2 ** 20,
    rssPeakMiB: rssPeak / 2 ** 20,
    canarySamples: rtt.count,
    canaryP99ms: rtt.p99,
  })
  assert.equal(envelopes.problems.slice(0, 20), [])
  assert.equal(frames.problems.slice(0, 20), [])
  assert.equal(uncaught, [])
  assert.ok(rssPeak < 2 * rssBefore, 'RSS < 2 × baseline')
  assert.is(rtt.failures, 0)
  assert.ok((await (await t.connect()).request('server:ping')).ok)
})

test.run()
