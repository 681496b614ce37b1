// What a thrown error answers: the refusal the client can act on, counted in metrics and logged once.
import { ProtocolError, type ErrID, type ErrPayload } from '../errors.ts'
import type { Connection, Deps } from '../handler.ts'
import { RuleRefusal } from '../rate-limit.ts'
import type { Metrics } from '../metrics.ts'
import { isDiskFull, isRetryableStorageError, storageRetryAfterMs } from '../store/errors.ts'
import { HasherBusyError } from '../auth/passwords.ts'
import { ExtensionRefusalError } from '../extensions/handlers.ts'

/** Writes a refusal reply (no metrics: the caller counts it). */
export type RefusalWriter = (id: string, type: string, from: string, conn: Connection | undefined, errID: ErrID, errPayload?: ErrPayload | Record<string, unknown>, errText?: string) => string

/** `deps` is read at each failure (tests swap the store on a running server). */
export function failureAnswer(deps: Deps, metrics: Metrics, refusal: RefusalWriter) {
  const { log } = deps
  return function failure(thrown: unknown, id: string, type: string, from: string, conn: Connection, started: number): string {
    const elapsed = performance.now() - started
    if (thrown instanceof ExtensionRefusalError) {
      // An extension's own errIDs are counted as "other" by metrics (a bounded label set).
      metrics.handled(type, thrown.errID, elapsed)
      return refusal(id, type, from, conn, thrown.errID as ErrID, thrown.errPayload, thrown.errText)
    }
    if (thrown instanceof ProtocolError) {
      metrics.handled(type, thrown.errID, elapsed)
      if (thrown.errID === 'ratelimit_exceed') metrics.rateLimited('handler')
      if (thrown instanceof RuleRefusal) {
        log.debug({ connection: conn.id, ip: conn.address, requestID: id, type, rules: [thrown.rule], retryAfter: thrown.errPayload?.retryAfter }, 'rate limit: refused')
      }
      return refusal(id, type, from, conn, thrown.errID, thrown.errPayload)
    }
    if (thrown instanceof HasherBusyError) {
      // More argon2 work is waiting than password.maxQueuedHashes allows: refused, not queued.
      metrics.handled(type, 'ratelimit_exceed', elapsed)
      metrics.rateLimited(type)
      return refusal(id, type, from, conn, 'ratelimit_exceed', { retryAfter: 1000 })
    }
    if (isRetryableStorageError(thrown)) {
      if (isDiskFull(thrown)) deps.store.onDiskFull?.()
      metrics.handled(type, 'storage_busy', elapsed)
      log.warn({ err: thrown, requestID: id, type }, 'storage unavailable; answered storage_busy')
      return refusal(id, type, from, conn, 'storage_busy', { retryAfter: storageRetryAfterMs })
    }
    metrics.handled(type, 'internal_error', elapsed)
    // Logged once with the request id; the client learns nothing internal.
    log.error({ err: thrown, requestID: id, type, connection: conn.id }, 'handler failed')
    return refusal(id, type, from, conn, 'internal_error')
  }
}
