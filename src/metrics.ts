// Prometheus metrics (GET /metrics): one registry per server so tests can run servers side by side.
// Label values come from fixed sets only (contract §11): a label from client input would let anyone
// mint series without bound (audit: 40,000 unique types made /metrics 6.2 MB and RSS +52 MB, for good).
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
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
  const messages = new Counter({
    name: 'hafnium_messages_total',
    help: 'Request messages answered, by type and outcome (ok or errID)',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'hafnium_handler_duration_seconds',
    help: 'Handler latency by type',
    labelNames: ['type'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  })
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
    message: (type, outcome) => messages.inc({ type: typeLabel(type), outcome: outcomeLabel(outcome) }),
    handled(type, outcome, ms) {
      messages.inc({ type: typeLabel(type), outcome: outcomeLabel(outcome) })
      latency.observe({ type: typeLabel(type) }, ms / 1000)
    },
    rateLimited: (type) => rejections.inc({ type: typeLabel(type) }),
  }
}
