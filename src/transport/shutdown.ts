// Stopping the server: the graceful drain of its sockets, and closing what start-up opened (also when a
// later start-up step fails). The bus and the store close whatever failed before them: a LISTEN connection
// or a pool left open would hold the process (seen in CI on PostgreSQL).
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import type { LiveConnection } from '../connection.ts'
import type { ClusterBus } from '../cluster/bus.ts'
import type { DeliverySender } from '../delivery/sender.ts'
import { closeCodes } from '../errors.ts'
import { closeExtensions, type LoadedModule } from '../extensions/load.ts'
import type { RateLimiter } from '../rate-limit.ts'
import type { Store } from '../store/index.ts'

export interface Opened {
  limiter: RateLimiter
  delivery: DeliverySender
  extensions: readonly LoadedModule[]
  bus: ClusterBus
  store: Store
  log: Logger
}

/** Answers what each connection has read (up to `drainTimeoutMs`), then closes it with 1001, then cuts what is left. */
export async function drainConnections(http: Server, connections: ReadonlySet<LiveConnection>, drainTimeoutMs: number): Promise<void> {
  http.close()
  const open = [...connections]
  await withTimeout(Promise.all(open.map((c) => c.drain())), drainTimeoutMs)
  const closed = open.map((c) => new Promise<void>((resolve) => c.socket.once('close', () => resolve())))
  for (const conn of open) conn.close(closeCodes.shutdown, 'server shutting down')
  await withTimeout(Promise.all(closed), 1000)
  for (const conn of connections) conn.socket.terminate()
  http.closeAllConnections()
}

/**
 * Closes what start-up opened, in order; `flush` (the last-seen batch) runs after the last rate-limit
 * flush. A failed flush is logged (it loses at most one interval), a failed close is thrown, after the
 * bus and the store are closed.
 */
export async function closeOpened(opened: Opened, flush?: () => Promise<void>): Promise<void> {
  const { limiter, delivery, extensions, bus, store, log } = opened
  try {
    limiter.close()
  } catch (err) {
    // The last flush failing (a full disk) loses at most one flush interval of buckets; the file must still close.
    log.warn({ err }, 'final rate-limit flush failed')
  }
  try {
    await flush?.()
  } catch (err) {
    log.warn({ err }, 'final last-seen flush failed')
  }
  try {
    await delivery.close()
    await closeExtensions(extensions, (module, err) => log.warn({ err, extension: module }, 'extension close failed'))
  } finally {
    await bus.close().catch((err: unknown) => log.warn({ err }, 'closing the cluster bus failed'))
    await store.close()
  }
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer))
}
