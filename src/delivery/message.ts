// What a transport is handed (a rendered message) and how it refuses (DeliveryError, retryable or not).
import type { OutgoingMessage } from '../store/outgoing-message.ts'

export interface RenderedMessage extends OutgoingMessage {
  /** Plain text: the SMS body, or the email's text part. */
  text: string
  /** Email only. */
  subject?: string
  /** Email only. */
  html?: string
  /** When this attempt was made (ms since the epoch). */
  at: number
}

export interface Transport {
  /** Resolves once the message is handed over; throws (a DeliveryError when it knows whether to retry) on failure. */
  send(message: RenderedMessage): Promise<void>
  close?(): void | Promise<void>
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** false: sending the same message again cannot succeed (a 4xx answer, a 5xx SMTP reply). */
    readonly retryable: boolean,
  ) {
    super(message)
    this.name = 'DeliveryError'
  }
}

/** The line the console transport appends to delivery.outboxFile and the webhook POSTs (contract §10). */
export function toJSONLine(message: RenderedMessage): string {
  const { channel, to, purpose, code, text, at } = message
  return JSON.stringify({ channel, to, purpose, code, text, at })
}
