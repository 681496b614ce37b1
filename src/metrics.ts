// Prometheus metrics (GET /metrics): one registry per server so tests can run servers side by side.
// Label values come from fixed sets only (contract §11): a label from client input would let anyone
// mint series without bound (audit: 40,000 unique types made /metrics 6.2 MB and RSS +52 MB, for good).
import { Counter, Gauge, Registry } from 'prom-client'
import { errors } from './errors.ts'

export interface Metrics {
  readonly registry: Registry
  /** The message types served (known once the router is built); any other type is counted as "unknown". */
  allowTypes(types: Iterable<string>): void
  /** Reports the rate limiter's in-memory size at each scrape. */
  watchLimiter(limiter: { bucketsInMemory(): number; bytesInMemory(): number; evictions(): number }): void
  connectionOpened(): void
  connectionClosed(): void
  /** A reply without a handler run (global errors), by type and outcome (errID or "ok"). */
  message(type: string, outcome: string): void
  /** A handler ran: counts the message and observes its latency. */
  handled(type: string, outcome: string, ms: number): void
  rateLimited(type: string): void
}

const outcomes = new Set<string>(['ok', ...Object.keys(errors)])

export function createMetrics(): Metrics {
  const registry = new Registry()
  const types = new Set<string>(['unknown', 'handler'])
  const typeLabel = (type: string) => (types.has(type) ? type : 'unknown')
  const outcomeLabel = (outcome: string) => (outcomes.has(outcome) ? outcome : 'other')
  const connections = new Gauge({ name: 'hafnium_connections_open', help: 'WebSocket connections open', registers: [registry] })
  // Every request is counted and timed: prom-client's inc/observe hash a labels object each call (9% of
  // server:ping's CPU, bench profile), so the request path adds to plain numbers per type and the
  // scrape turns them into the same series.
  const tallies = new Map<string, Tally>()
  const tallyOf = (type: string): Tally => {
    const label = typeLabel(type)
    let tally = tallies.get(label)
    if (!tally) tallies.set(label, (tally = { outcomes: new Map(), buckets: new Array<number>(latencyBounds.length).fill(0), sum: 0, count: 0 }))
    return tally
  }
  const countIn = (tally: Tally, outcome: string) => {
    const label = outcomeLabel(outcome)
    tally.outcomes.set(label, (tally.outcomes.get(label) ?? 0) + 1)
  }
  const count = (type: string, outcome: string) => countIn(tallyOf(type), outcome)
  new Counter({
    name: 'hafnium_messages_total',
    help: 'Request messages answered, by type and outcome (ok or errID)',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const [type, { outcomes }] of tallies) for (const [outcome, n] of outcomes) this.inc({ type, outcome }, n)
    },
  })
  registry.registerMetric(latencyHistogram(tallies) as never)
  const rejections = new Counter({
    name: 'hafnium_ratelimit_rejections_total',
    help: 'Requests refused with ratelimit_exceed, by type ("handler" when a handler-level rule refused)',
    labelNames: ['type'] as const,
    registers: [registry],
  })
  let limiter: Parameters<Metrics['watchLimiter']>[0] | undefined
  new Gauge({
    name: 'hafnium_ratelimit_buckets',
    help: 'Rate-limit buckets held in memory (capped by ratelimit.maxBuckets)',
    registers: [registry],
    collect() {
      this.set(limiter?.bucketsInMemory() ?? 0)
    },
  })
  new Gauge({
    name: 'hafnium_ratelimit_bucket_bytes',
    help: 'Estimated bytes of rate-limit buckets held in memory (capped by ratelimit.maxBucketBytes)',
    registers: [registry],
    collect() {
      this.set(limiter?.bytesInMemory() ?? 0)
    },
  })
  new Counter({
    name: 'hafnium_ratelimit_evictions_total',
    help: 'Buckets moved out of memory at the cap (their state is kept in SQLite)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(limiter?.evictions() ?? 0)
    },
  })
  return {
    registry,
    allowTypes(list) {
      for (const type of list) types.add(type)
    },
    watchLimiter(watched) {
      limiter = watched
    },
    connectionOpened: () => connections.inc(),
    connectionClosed: () => connections.dec(),
    message: count,
    handled(type, outcome, ms) {
      // One look-up of the type's tally for its count and its time (every request passes here).
      const tally = tallyOf(type)
      countIn(tally, outcome)
      const seconds = ms / 1000
      let i = 0
      while (i < latencyBounds.length && seconds > latencyBounds[i]!) i++
      if (i < latencyBounds.length) tally.buckets[i]!++
      tally.sum += seconds
      tally.count++
    },
    rateLimited: (type) => rejections.inc({ type: typeLabel(type) }),
  }
}

interface Tally {
  outcomes: Map<string, number>
  /** Observations per latency bucket (not cumulative; those above the last bound count only in `count`). */
  buckets: number[]
  sum: number
  count: number
}

const latencyBounds = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]

/** hafnium_handler_duration_seconds as prom-client's Histogram writes it, read from the tallies at scrape time. */
function latencyHistogram(tallies: ReadonlyMap<string, Tally>) {
  const name = 'hafnium_handler_duration_seconds'
  const help = 'Handler latency by type'
  const get = () => {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = []
    for (const [type, tally] of tallies) {
      if (tally.count === 0) continue
      let cumulative = 0
      latencyBounds.forEach((le, i) => {
        cumulative += tally.buckets[i]!
        values.push({ labels: { le, type }, value: cumulative, metricName: `${name}_bucket` })
      })
      values.push({ labels: { le: '+Inf', type }, value: tally.count, metricName: `${name}_bucket` })
      values.push({ labels: { type }, value: tally.sum, metricName: `${name}_sum` })
      values.push({ labels: { type }, value: tally.count, metricName: `${name}_count` })
    }
    return { name, help, type: 'histogram', aggregator: 'sum', values }
  }
  return { name, help, type: 'histogram', aggregator: 'sum', labelNames: ['type'], get: async () => get(), reset() {} }
}
