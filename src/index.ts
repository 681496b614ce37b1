// The package's programmatic API: start a server in-process, load its config, write extensions (contract §16).
// Its types are the public surface: startServer's reference only dependencies that ship their own types
// (pino) and Node's, never ws (its types are a devDependency), so a consumer compiles with skipLibCheck off.
// Tests reach the internals through src/server.ts directly.
import type { Logger } from 'pino'
import { startServer as startInternal } from './server.ts'
import type { Transport } from './delivery/message.ts'
import type { Config } from './types/schemas.ts'

export { loadConfig, ConfigError } from './config.ts'
export { ProtocolError, errors, type ErrID } from './errors.ts'
export { DeliveryError, type Transport, type RenderedMessage } from './delivery/message.ts'
export type { Config, Messages, Events } from './types/schemas.ts'
export { defineExtension, defineType } from './extensions/define.ts'
export type {
  Extension, ExtensionAuth, ExtensionContext, ExtensionLifecycle, ExtensionUsers, ExtensionRefusal, ExtensionType, ExtensionUser, MessagesOf, Notify, PayloadOf,
} from './extensions/define.ts'
export { ExtensionError } from './extensions/load.ts'
/** better-sqlite3's Database, in the build safe on this Node (src/store/driver.ts): for extensions that keep state. */
export { default as Sqlite } from './store/driver.ts'
/** Batches an extension's SQLite writes of one event-loop turn into one transaction (one commit for all). */
export { createGroupCommit, type GroupCommit } from './store/group-commit.ts'

export interface ServerOptions {
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: { now(): number }
  logger?: Logger
  /** Replaces the configured delivery transport of a channel. */
  transports?: Partial<Record<'email' | 'sms', Transport>>
}

export interface HafniumServer {
  /** ws://host:port/path */
  readonly url: string
  readonly port: number
  /** Stops accepting, answers what was read, closes sockets with 1001, closes the database. */
  close(): Promise<void>
}

/** Opens the database, listens, and resolves once the server accepts connections. */
export function startServer(config: Readonly<Config>, options: ServerOptions = {}): Promise<HafniumServer> {
  return startInternal(config, options)
}
