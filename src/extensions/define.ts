// The public surface for extension authors (contract §16): the module shape, the handler context, and
// defineType/defineExtension, which infer each payload's type from its JSON Schema literal.
import type { FromSchema, JSONSchema } from 'json-schema-to-ts'
import type { Logger } from 'pino'

export type ExtensionAuth = 'none' | 'required'

/** The device an authenticated request came from. */
export interface ExtensionUser {
  userID: string
  deviceID: string
}

/** notify() as a function type (ExtensionContext['notify']). */
export type Notify = ExtensionContext['notify']

/** The most user IDs one notify() call may name: each is an event of its own on the other nodes. */
export const maxNotifyUsers = 1000

/** What an extension may ask about accounts (read-only). */
export interface ExtensionUsers {
  /** true when `userID` names an active account (a pending, disabled or unknown one answers false). */
  exists(userID: string): Promise<boolean>
}

export interface ExtensionContext<P = Record<string, unknown>, A extends ExtensionAuth = ExtensionAuth> {
  /** The request's payload, already validated against the type's schema. */
  payload: P
  /** Who sent it; never null for `auth: 'required'`. */
  user: A extends 'required' ? ExtensionUser : ExtensionUser | null
  /**
   * Sends an event `{type, payload}` to every live connection of `userID` (or of each user in a list of at
   * most maxNotifyUsers, each once; an empty list reaches nobody) and resolves to how many it reached on
   * this node. Asynchronous by design: behind it may be a channel between nodes (PostgreSQL
   * LISTEN/NOTIFY), not only this process's sockets. `type` must be namespaced and outside the server's
   * own namespaces. A method, not a function-typed field: its parameters stay bivariant, so an
   * extension's own `(userID: string, …) => …` stand-in (a test fake) still type-checks.
   */
  notify(userID: string | readonly string[], type: string, payload: Record<string, unknown>): Promise<number>
  users: ExtensionUsers
  /** The server's logger with this request's id and type bound. */
  log: Logger
  /** The message type and the request's id, as the client sent them. */
  type: string
  requestID: string
}

/**
 * What a handler throws to refuse: answered as `{errID, errText, errPayload?}` (errID matching
 * [a-z_]{1,64}). Anything else thrown answers internal_error.
 */
export interface ExtensionRefusal {
  errID: string
  errText?: string
  errPayload?: Record<string, unknown>
}

/** The payload type a JSON Schema literal describes (unknown-shaped when the schema is not a literal). */
export type PayloadOf<S> = S extends JSONSchema ? FromSchema<S> : Record<string, unknown>

export interface ExtensionType<S = object, A extends ExtensionAuth = ExtensionAuth, R = unknown> {
  auth: A
  /** The JSON Schema of the request payload, compiled at start (strict; bounded patterns). */
  schema: S
  /** Returns the reply payload (an object; undefined answers {}), or throws an ExtensionRefusal. */
  handle(ctx: ExtensionContext<PayloadOf<S>, A>): Promise<R> | R
}

/**
 * A module's default export. A type written as a plain object gets an untyped payload; one written with
 * defineType had its payload checked where it was written (method parameters are bivariant, so it fits).
 */
export interface Extension {
  types: Record<string, { auth: ExtensionAuth; schema: object; handle(ctx: ExtensionContext): unknown }>
  /** Called once before the server listens (open a database, …); a throw stops start-up. */
  start?(ctx: ExtensionLifecycle): Promise<void> | void
  /** Called once after the last connection closed on shutdown (close what start opened). */
  close?(): Promise<void> | void
}

export interface ExtensionLifecycle {
  log: Logger
}

/**
 * One message type, its payload typed from its schema literal: a typo like `payload.txet` does not
 * compile. (Written inside defineExtension's object, TypeScript cannot infer a schema per key, so each
 * type goes through this helper; a plain object works too, untyped.)
 */
// R is an object type with an index signature, which a Promise or an array is not: a reply is a JSON object.
export function defineType<const S extends object, const A extends ExtensionAuth, R extends Record<string, unknown> | void>(
  type: ExtensionType<S, A, R>,
): ExtensionType<S, A, R> {
  return type
}

/** An extension module's default export; keeps each type's inferred payload and reply types. */
export function defineExtension<E extends Extension>(extension: E): E {
  return extension
}

/**
 * The request and reply types of an extension, for the client library's module augmentation:
 * `declare module 'hafnium/client' { interface ExtensionMessages extends MessagesOf<typeof chat> {} }`.
 */
export type MessagesOf<E extends Extension> = {
  [K in keyof E['types']]: E['types'][K] extends { schema: infer S; handle(ctx: never): infer R }
    ? { request: PayloadOf<S>; reply: Awaited<R> extends void | undefined ? Record<string, never> : Awaited<R> }
    : never
}
