// Wire shapes and options of the client library; payload types come from the generated schema types.
import type { CaptchaFailure } from './captcha.ts'
import type { Events, Messages } from './schemas.ts'

export type { Events, Messages }

/**
 * Application (extension) types, empty here: an app declares its own by module augmentation, e.g.
 * `declare module 'hafnium/client' { interface ExtensionMessages extends MessagesOf<typeof chat> {} }`
 * (MessagesOf from 'hafnium'), or by hand: `{ 'chat:send': { request: {…}; reply: {…} } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ExtensionMessages {}
/** Application event payloads by type, e.g. `{ 'chat:message': { from: string; text: string } }` (module augmentation). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ExtensionEvents {}

type AppMessages = { [K in keyof ExtensionMessages]: ExtensionMessages[K] extends { request: unknown; reply: unknown } ? ExtensionMessages[K] : never }

/** A message type this library knows the payloads of (any other string is allowed, untyped). */
export type MessageType = keyof Messages & string
export type EventType = keyof Events & string

export type RequestPayload<T extends string> = T extends MessageType
  ? Messages[T]['request']
  : T extends keyof AppMessages
    ? AppMessages[T]['request']
    : Record<string, unknown>
export type ReplyPayload<T extends string> = T extends MessageType
  ? Messages[T]['reply']
  : T extends keyof AppMessages
    ? AppMessages[T]['reply']
    : Record<string, unknown>
export type EventPayload<T extends string> = T extends EventType ? Events[T] : T extends keyof ExtensionEvents ? ExtensionEvents[T] : Record<string, unknown>

/** Client → server (contract §2). */
export interface RequestEnvelope {
  id: string
  type: string
  to: string
  payload: object
}

/** Server → client: a reply (`ok` true or false) or, with an `ev:` id, an event. */
export interface ReplyEnvelope<P = unknown> {
  id: string
  type: string
  from: string
  to?: string
  ok: boolean
  payload: P
}

export interface EventEnvelope<T extends string = string> extends ReplyEnvelope<EventPayload<T>> {
  type: T
  ok: true
}

/** The payload of an `ok: false` reply (contract §2, §3). */
export interface ErrorPayload {
  errID: string
  errText: string
  errPayload?: Record<string, unknown>
}

/** The device this client is logged in as; kept to re-authenticate after a reconnect. */
export interface Session {
  userID: string
  deviceID: string
  authToken: string
}

/** What the library needs of a WebSocket: the browser API, which `ws` also implements. */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface ReconnectOptions {
  /** First wait after a failed attempt (doubles each time, with jitter). Default 250. */
  initialDelayMs?: number
  /** Longest wait between attempts. Default 10000. */
  maxDelayMs?: number
  /** Attempts before giving up (the client is then closed). Default: no limit. */
  maxAttempts?: number
}

export interface RetryOptions {
  /** A `retryAfter` longer than this is not waited for: the error is thrown. Default 30000. */
  maxWaitMs?: number
  /** Tries in all, the first included. Default 5. */
  maxAttempts?: number
}

export interface ClientOptions {
  /** The `to` of every request. Default: the URL's host name if the server serves it, else the domain its `wrong_server` reply names. */
  domain?: string
  /** A WebSocket constructor. Default: `globalThis.WebSocket` (browsers, Deno, Bun, Node ≥ 22); Node 20 must pass one (`ws`). */
  WebSocket?: WebSocketConstructor
  /**
   * Reconnect after the connection drops. With a session the client reconnects at once and sends
   * `profile:auth` with the stored authToken; without one it reconnects when the next request is made.
   */
  reconnect?: boolean | ReconnectOptions
  /** Retry requests refused with `ratelimit_exceed` after `errPayload.retryAfter` ms. Default off. */
  retryRateLimited?: boolean | RetryOptions
  /**
   * Solve the proof-of-work challenge of a `captcha_required` reply and send the request again with
   * the solution (`client.onCaptcha` tells the app). Default on; `false` leaves `captcha_required`
   * to the app (or to `retryRateLimited`, which waits out its `retryAfter`).
   */
  captcha?: boolean | CaptchaOptions
  /** A request without a reply after this long rejects (0: never). Default 30000. */
  requestTimeoutMs?: number
  /** Opening the socket takes at most this long. Default 10000. */
  connectTimeoutMs?: number
}

export interface CaptchaOptions {
  /** Stop solving after this long (then `captcha_required` is handled as with `captcha: false`). Default 30000. */
  timeoutMs?: number
  /** Stop solving when this aborts (then as with `captcha: false`). */
  signal?: AbortSignal
}

/** What `client.onCaptcha` reports: a challenge is being solved, was solved (the request is sent again), or was not. */
export type CaptchaEvent =
  | { stage: 'solving'; type: string }
  | { stage: 'solved'; type: string; ms: number }
  | { stage: 'failed'; type: string; ms: number; reason: CaptchaFailure }

export interface RequestOptions {
  /** Overrides the client's `retryRateLimited` for this request. */
  retryRateLimited?: boolean | RetryOptions
  /** Overrides the client's `captcha` for this request (e.g. `{signal}` to stop solving from a Cancel button). */
  captcha?: boolean | CaptchaOptions
  timeoutMs?: number
}

/** Connection life-cycle notifications (`client.onStatus`). */
export type Status =
  | { status: 'disconnected'; code: number; reason: string }
  | { status: 'reconnecting'; attempt: number; delayMs: number; error?: Error }
  | { status: 'reconnected'; session: Session | null; authError?: Error }
  | { status: 'closed' }
