// The package's programmatic API: start a server in-process, load its config, write extensions (contract §16).
export { startServer, type HafniumServer, type ServerOptions } from './server.ts'
export { loadConfig, ConfigError } from './config.ts'
export { ProtocolError, errors, type ErrID } from './errors.ts'
export type { Config, Messages, Events } from './types/schemas.ts'
export { defineExtension, defineType } from './extensions/define.ts'
export type {
  Extension, ExtensionAuth, ExtensionContext, ExtensionLifecycle, ExtensionUsers, ExtensionRefusal, ExtensionType, ExtensionUser, MessagesOf, Notify, PayloadOf,
} from './extensions/define.ts'
export { ExtensionError } from './extensions/load.ts'
/** better-sqlite3's Database, in the build safe on this Node (src/store/driver.ts): for extensions that keep state. */
export { default as Sqlite } from './store/driver.ts'
