// The breakdown of an open loop's tail (bench/run.ts writes it into the results beside the summary).
import { percentile, round, type Sample } from './load.ts'

/**
 * What an open loop's tail is made of: percentiles per request type, and the replies slower than `overMs`
 * grouped into bursts by when they were due (a gap of `gapMs` ends a burst). A few dense bursts are a stall
 * (of the server or the load generator); many bursts of one or two are queueing or a slow request type.
 */
export function tailOf(sample: Sample, overMs: number, gapMs = 10) {
  const { typeOf, types, scheduledMs, latenciesMs } = sample
  if (!typeOf || !types || !scheduledMs) return undefined
  const byType: Record<string, { count: number; p50: number; p99: number; max: number; over: number }> = {}
  types.forEach((type, t) => {
    const mine = latenciesMs.filter((_, i) => typeOf[i] === t).sort()
    byType[type] = { count: mine.length, p50: round(percentile(mine, 50)), p99: round(percentile(mine, 99)), max: round(mine[mine.length - 1] ?? NaN), over: mine.filter((ms) => ms > overMs).length }
  })
  const slow = Array.from(latenciesMs.keys()).filter((i) => latenciesMs[i]! > overMs).sort((a, b) => scheduledMs[a]! - scheduledMs[b]!)
  const bursts: { atMs: number; spanMs: number; count: number; maxMs: number }[] = []
  let last = -Infinity
  for (const i of slow) {
    const at = scheduledMs[i]!
    if (at - last > gapMs) bursts.push({ atMs: round(at), spanMs: 0, count: 0, maxMs: 0 })
    const burst = bursts[bursts.length - 1]!
    burst.count++
    burst.spanMs = round(at - burst.atMs)
    burst.maxMs = Math.max(burst.maxMs, round(latenciesMs[i]!))
    last = at
  }
  const largest = bursts.slice().sort((a, b) => b.count - a.count)
  return {
    overMs,
    over: slow.length,
    bursts: bursts.length,
    // How much of the tail the five largest bursts hold: near 1, stalls; near 0, spread.
    inLargestFive: slow.length === 0 ? 0 : round(largest.slice(0, 5).reduce((n, b) => n + b.count, 0) / slow.length),
    byType,
    largestBursts: largest.slice(0, 8),
    startedAtMs: sample.startedAtMs,
    startedAtMonotonicMs: sample.startedAtMonotonicMs,
  }
}
