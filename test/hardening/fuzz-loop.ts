// The seeded fuzzer on a time box: envelope batches and raw-frame batches alternate until the time is
// up, while this process's RSS is sampled (the server runs in-process in these tests). The time box
// only decides how much is tried; the verdict is on outcomes (problems, uncaught, RSS, still answering).
import { fuzzEnvelopes, fuzzFrames, type FuzzContext, type FuzzStats } from './fuzz.ts'

export interface FuzzLoopOptions {
  seconds: number
  seed: number
  envelopesPerBatch: number
  framesPerBatch: number
  /** fuzzEnvelopes lanes and fuzzFrames parallelism */
  lanes?: number
  parallel?: number
  stallMs?: number
}

export interface FuzzLoopResult {
  seconds: number
  batches: number
  /** envelope samples sent (each on an anonymous and an authenticated socket) */
  envelopes: number
  frameSequences: number
  ok: number
  byErrID: Record<string, number>
  closes: Record<string, number>
  stalled: number
  problems: string[]
  /** RSS after the first batch of each kind, and the highest RSS sampled after it (bytes) */
  rssBaseline: number
  rssPeak: number
}

const RSS_EVERY_MS = 250

/**
 * Batch n is seeded with `seed + n`, and its kind follows that seed's parity (even: envelopes, odd:
 * frames), so HARDENING_SEED=<the seed a problem names> replays that batch first, on a fresh server.
 * Stops early after a batch with a problem or an uncaught exception: its seed replays it, and the rest
 * of the time box would only add noise to the report.
 */
export async function fuzzFor({ t, uncaught }: FuzzContext, options: FuzzLoopOptions): Promise<FuzzLoopResult> {
  const started = performance.now()
  const result: FuzzLoopResult = { seconds: 0, batches: 0, envelopes: 0, frameSequences: 0, ok: 0, byErrID: {}, closes: {}, stalled: 0, problems: [], rssBaseline: 0, rssPeak: 0 }
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n
  }
  const merge = (stats: FuzzStats) => {
    result.ok += stats.ok
    add(result.byErrID, stats.byErrID)
    add(result.closes, stats.closes)
    result.problems.push(...stats.problems)
  }
  const sampler = setInterval(() => {
    if (result.rssBaseline > 0) result.rssPeak = Math.max(result.rssPeak, process.memoryUsage.rss())
  }, RSS_EVERY_MS)
  const warmedUp = new Set<string>()
  try {
    for (let batch = 0; ; batch++) {
      const seed = options.seed + batch
      const kind = seed % 2 === 0 ? 'envelopes' : 'frames'
      if (kind === 'envelopes') {
        // Account names carry the seed: unique per batch, and the same when the batch is replayed.
        const stats = await fuzzEnvelopes(t, { runs: options.envelopesPerBatch, seed, lanes: options.lanes, accountPrefix: `fz${seed}-` })
        result.envelopes += options.envelopesPerBatch
        merge(stats)
      } else {
        const stats = await fuzzFrames(t, { runs: options.framesPerBatch, seed, parallel: options.parallel, stallMs: options.stallMs })
        result.frameSequences += stats.sent
        result.stalled += stats.stalled
        merge(stats)
      }
      result.batches++
      // The baseline is taken once both kinds have run once, so module loading, JIT compilation and the
      // first growth of V8's heap and SQLite's page cache are not counted as growth.
      warmedUp.add(kind)
      if (result.rssBaseline === 0 && warmedUp.size === 2) result.rssBaseline = result.rssPeak = process.memoryUsage.rss()
      if (result.problems.length > 0 || uncaught.length > 0) break
      // Both kinds run at least once whatever the time box: on a loaded machine one frame batch can
      // fill a short box, and a run that never sent an envelope would fail 'some requests got past validation'.
      if (warmedUp.size === 2 && performance.now() - started >= options.seconds * 1000) break
    }
  } finally {
    clearInterval(sampler)
  }
  if (result.rssBaseline === 0) result.rssBaseline = process.memoryUsage.rss()
  result.rssPeak = Math.max(result.rssPeak, result.rssBaseline, process.memoryUsage.rss())
  result.seconds = (performance.now() - started) / 1000
  return result
}
