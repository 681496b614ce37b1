// Drains the outbox: renders each due message, hands it to its channel's transport, deletes it or schedules a retry.
import type { Logger } from 'pino'
import type { Clock } from '../rate-limit.ts'
import type { Store } from '../store/index.ts'
import type { DueMessage, OutgoingMessage } from '../store/outbox.ts'
import type { Config } from '../types/schemas.ts'
import { DeliveryError, type Transport } from './message.ts'
import { renderMessage } from './templates.ts'
import { createConsoleTransport } from './transports/console.ts'
import { createSmtpTransport } from './transports/smtp.ts'
import { createWebhookTransport } from './transports/webhook.ts'

export type Transports = Record<OutgoingMessage['channel'], Transport>

export interface DeliverySenderOptions {
  store: Pick<Store, 'outbox'>
  config: Readonly<Config>
  clock: Clock
  log: Logger
  /** Replaces the configured transport of a channel (tests). */
  transports?: Partial<Transports>
}

export interface DeliverySender {
  /** Asks for a drain soon (after the current tick): handlers call it once their code has committed. */
  wake(): void
  /** Sends every message due now; resolves with how many were delivered. Never rejects. */
  drainOnce(): Promise<number>
  /** Stops the timer, waits for the send in flight (bounded by delivery.timeoutMs), closes the transports. */
  close(): Promise<void>
}

/** Rows claimed per query; a drain keeps claiming until nothing is due. */
const batchSize = 10

export function createDeliverySender(options: DeliverySenderOptions): DeliverySender {
  const { store, config, clock, log } = options
  const { retry, templates, timeoutMs } = config.delivery
  const server = config.server.domains[0]!
  const transports: Transports = { ...configuredTransports(config.delivery, timeoutMs), ...options.transports }
  const codeTtlMs = config.verification.codeTtl * 1000

  let closed = false
  let running: Promise<number> | undefined
  let queued: Promise<number> | undefined
  let wakeScheduled = false

  /** One drain at a time; a call during a drain gets the next one, so a message enqueued meanwhile is not missed. */
  function drainOnce(): Promise<number> {
    if (closed) return Promise.resolve(0)
    if (!running) {
      running = drain().finally(() => (running = undefined))
      return running
    }
    queued ??= running.then(() => {
      queued = undefined
      return drainOnce()
    })
    return queued
  }

  /**
   * A claim must outlast the sends of its batch: within a channel one at a time, each bounded by
   * delivery.timeoutMs, plus a margin. Only a sender that dies holding rows makes them wait this long.
   */
  const leaseMs = (batchSize + 1) * timeoutMs

  async function drain(): Promise<number> {
    let delivered = 0
    const tried = new Set<number>()
    try {
      while (!closed) {
        // Claimed, not just read: other senders on the same database (other nodes) skip these rows.
        const claimed = await store.outbox.claim(clock.now(), batchSize, leaseMs)
        const claim = claimed[0]?.claim
        const batch = claimed.filter((m) => !tried.has(m.id))
        try {
          if (batch.length === 0) break
          for (const due of batch) tried.add(due.id)
          // Channels proceed side by side; within a channel, one message at a time.
          const counts = await Promise.all(
            (['email', 'msisdn'] as const).map((channel) => sendInOrder(batch.filter((m) => m.message.channel === channel))),
          )
          delivered += counts[0]! + counts[1]!
        } finally {
          // What was not sent (closing mid-batch, a row this drain already tried) is due again for any sender now.
          if (claim) await store.outbox.release(claim)
        }
      }
    } catch (err) {
      log.error({ err }, 'delivery: draining the outbox failed; will retry')
    }
    return delivered
  }

  async function sendInOrder(messages: DueMessage[]): Promise<number> {
    let delivered = 0
    for (const due of messages) if (!closed && (await sendOne(due))) delivered++
    return delivered
  }

  async function sendOne({ id, claim, attempts, createdAt, message }: DueMessage): Promise<boolean> {
    const now = clock.now()
    const attempt = attempts + 1
    const fields = { outboxID: id, channel: message.channel, attempts: attempt }
    if (now - createdAt >= codeTtlMs) {
      await store.outbox.failed(id, 'the code expired before it could be sent', null, claim)
      log.warn(fields, 'delivery given up: the code expired before it could be sent')
      return false
    }
    try {
      await transports[message.channel].send(renderMessage(message, templates, server, now))
    } catch (error) {
      const retryable = error instanceof DeliveryError ? error.retryable : true
      const reason = error instanceof Error ? error.message : String(error)
      if (!retryable || attempt >= retry.maxAttempts) {
        await store.outbox.failed(id, reason, null, claim)
        log.error({ ...fields, error: reason }, 'delivery given up')
      } else {
        const delay = Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1))
        await store.outbox.failed(id, reason, clock.now() + delay, claim)
        log.warn({ ...fields, error: reason, retryInMs: delay }, 'delivery failed; will retry')
      }
      return false
    }
    if (await store.outbox.delivered(id, claim)) log.info(fields, 'delivered')
    // Our lease ran out during the send and another sender holds the row now: it may send it again.
    else log.warn(fields, 'delivered after its claim lapsed; another sender may send it again')
    return true
  }

  function wake() {
    if (closed || wakeScheduled) return
    wakeScheduled = true
    setImmediate(() => {
      wakeScheduled = false
      void drainOnce()
    })
  }

  // The timer picks up retries when they fall due, and rows a previous run left (a crash between commit and send).
  const timer = setInterval(wake, config.delivery.pollMs)
  timer.unref()
  wake()

  return {
    wake,
    drainOnce,
    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      await queued
      await running
      await Promise.all(Object.values(transports).map((t) => t.close?.()))
    },
  }
}

function configuredTransports(delivery: Config['delivery'], timeoutMs: number): Transports {
  const printer = createConsoleTransport({ outboxFile: delivery.outboxFile })
  return {
    email: delivery.email.transport === 'smtp' ? createSmtpTransport(delivery.email, timeoutMs) : printer,
    msisdn: delivery.sms.transport === 'webhook' ? createWebhookTransport(delivery.sms, timeoutMs) : printer,
  }
}
