// Prometheus metrics (GET /metrics): one registry per server so tests can run servers side by side.
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface Metrics {
  readonly registry: Registry
  connectionOpened(): void
  connectionClosed(): void
  /** A reply without a handler run (global errors), by type and outcome (errID or "ok"). */
  message(type: string, outcome: string): void
  /** A handler ran: counts the message and observes its latency. */
  handled(type: string, outcome: string, ms: number): void
  rateLimited(type: string): void
}

export function createMetrics(): Metrics {
  const registry = new Registry()
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
  return {
    registry,
    connectionOpened: () => connections.inc(),
    connectionClosed: () => connections.dec(),
    message: (type, outcome) => messages.inc({ type, outcome }),
    handled(type, outcome, ms) {
      messages.inc({ type, outcome })
      latency.observe({ type }, ms / 1000)
    },
    rateLimited: (type) => rejections.inc({ type }),
  }
}
