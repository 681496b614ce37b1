// The shapes every handler satisfies, and the context (dependencies) it is called with.
import type { Logger } from 'pino'
import type { Config, Events, Messages } from './types/schemas.ts'
import type { Clock, RateLimiter } from './rate-limit.ts'
import type { Store } from './store/index.ts'
import type { Sessions } from './sessions.ts'
import type { PasswordHasher } from './auth/passwords.ts'
import type { NameBackoff } from './accounts/login-backoff.ts'
import type { Captcha } from './auth/captcha.ts'
import type { SeenTracker } from './accounts/session-lifetime.ts'
import type { SessionCheck } from './cluster/session-check.ts'
import type { RelyingParty } from './auth/oidc.ts'

export type MessageType = keyof Messages
export type Request<T extends MessageType> = Messages[T]['request']
export type Reply<T extends MessageType> = Messages[T]['reply']

/** Who an authenticated connection is. */
export interface Session {
  accountID: string
  userID: string
  deviceID: string
  /**
   * When the device was known to exist without a read: a login that just inserted it. The per-request
   * device check (cluster/session-check.ts) trusts that as it trusts a read of the row.
   */
  knownAliveAt?: number
}

/**
 * An event's frame as the first of its recipient connections built it, for the others addressed to the
 * same user (every connection of a node has the same `from`: the server's first domain).
 */
export interface SharedEventFrame {
  to?: string
  frame?: string
}

/** What a handler may know and do about the connection its request came on. */
export interface Connection {
  readonly id: string
  /** What per-IP rules are keyed on: the client address behind trusted proxies; IPv6 per ratelimit.ipv6Prefix. */
  readonly ip: string
  /** The client's own address (logs, a device's last address). */
  readonly address: string
  session: Session | null
  /** false once the socket has closed. */
  readonly open: boolean
  /** Sends a server-initiated event (contract §6). */
  sendEvent<E extends keyof Events>(type: E, payload: Events[E]): void
  /**
   * The same with the payload already JSON (an extension's event, serialised once for all its recipients).
   * `shared`: one object per event across its recipient connections, so the user's connections send the same
   * frame, built once. Optional for test fakes.
   */
  sendEventJson?(type: string, payloadJson: string, shared?: SharedEventFrame): void
  /**
   * While anonymous, allow this long (from now) before the auth deadline closes the socket, instead of
   * server.authTimeoutMs: a device waiting for its authorization to be approved. Optional for test fakes.
   */
  setAuthDeadline?(ms: number): void
  /**
   * JSON.stringify of the session's user ID (undefined when anonymous), kept while the user is the same:
   * every reply on an authenticated socket carries it. Optional for test fakes.
   */
  userIDJson?(): string | undefined
  close(code: number, reason: string): void
}

/** Shared dependencies, built once per server. */
export interface Deps {
  config: Readonly<Config>
  store: Store
  clock: Clock
  limiter: RateLimiter
  log: Logger
  sessions: Sessions
  /** Re-reads an authenticated connection's device row at most once a second (revocations a node missed). */
  sessionCheck: SessionCheck
  /** When devices were last seen, batched in memory (sessions.idleTimeout). */
  seen: SeenTracker
  passwords: PasswordHasher
  /** Failed password logins to names that find no account (privacy.revealAccounts false). */
  nameBackoff: NameBackoff
  /** ALTCHA challenges for rate-limit rules with captcha: true (the router's; handlers do not use it). */
  captcha: Captcha
  /** The OpenID Connect relying party for config.providers (discovery and keys cached per provider). */
  oidc: RelyingParty
  /** The outbox sender: call wake() after a transaction that enqueued a message has committed. */
  delivery: { wake(): void }
  /** Facts about this server that handlers report (server:info). */
  server: { version: string; node: string; types: readonly string[] }
}

// The session check is the router's; handlers do not use it.
export interface Context<T extends MessageType> extends Omit<Deps, 'sessionCheck'> {
  type: T
  requestID: string
  payload: Request<T>
  conn: Connection
}

export interface Handler<T extends MessageType> {
  type: T
  /** 'required': anonymous connections get auth_required before the handler runs. */
  auth: 'none' | 'required'
  /**
   * How many tokens of its per-type rate-limit rules one request takes, when that is not one (look-ups
   * charged per user looked up; 0 takes none). Read from the payload, so the router charges such types
   * after the schema check instead of before it.
   */
  cost?(payload: Request<T>): number
  /** The reply, or a promise of it: one that has nothing to wait for returns it as is and is answered with no promise. */
  handle(ctx: Context<T>): Reply<T> | Promise<Reply<T>>
}

/** Types a handler module against its message type (the payload and reply come from the schemas). */
export function defineHandler<T extends MessageType>(handler: Handler<T>): Handler<T> {
  return handler
}

// A list of handlers of different types; the router only sees the common shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = Handler<any>
