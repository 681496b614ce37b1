// SMS through an HTTP gateway: POST of the message's JSON line; 5xx, 408, 429 and network errors are retried, other answers are not.
import { DeliveryError, toJSONLine, type Transport } from '../message.ts'
import type { WebhookTransport } from '../../types/schemas.ts'

export function createWebhookTransport(config: WebhookTransport, timeoutMs: number): Transport {
  return {
    async send(message) {
      // Header names are case-insensitive: a configured Content-Type is replaced, not doubled.
      const headers = new Headers(config.headers)
      headers.set('content-type', 'application/json')
      let response: Response
      try {
        response = await fetch(config.url, {
          method: 'POST',
          headers,
          body: toJSONLine(message),
          // A redirect would turn the POST into a GET somewhere else: refuse it rather than follow.
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code
        throw new DeliveryError(`webhook unreachable: ${(error as Error).name === 'TimeoutError' ? 'timed out' : (cause ?? (error as Error).message)}`, true)
      }
      // The body is not needed; cancelling it frees the connection.
      await response.body?.cancel().catch(() => {})
      if (response.status >= 200 && response.status < 300) return
      // 408 and 429 say "later", like a 5xx; any other 4xx (or a 3xx) will not change on a retry.
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429
      throw new DeliveryError(`webhook answered ${response.status}`, retryable)
    },
  }
}
