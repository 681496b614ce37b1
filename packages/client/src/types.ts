// Wire shapes and options of the client library; payload types come from the generated schema types.
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
  /** A request without a reply after this long rejects (0: never). Default 30000. */
  requestTimeoutMs?: number
  /** Opening the socket takes at most this long. Default 10000. */
  connectTimeoutMs?: number
}

export interface RequestOptions {
  /** Overrides the client's `retryRateLimited` for this request. */
  retryRateLimited?: boolean | RetryOptions
  timeoutMs?: number
}

/** Connection life-cycle notifications (`client.onStatus`). */
export type Status =
  | { status: 'disconnected'; code: number; reason: string }
  | { status: 'reconnecting'; attempt: number; delayMs: number; error?: Error }
  | { status: 'reconnected'; session: Session | null; authError?: Error }
  | { status: 'closed' }
