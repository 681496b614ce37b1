// The package's programmatic API: start a server in-process, load its config.
export { startServer, type HafniumServer, type ServerOptions } from './server.ts'
export { loadConfig, ConfigError } from './config.ts'
export { ProtocolError, errors, type ErrID } from './errors.ts'
export type { Config, Messages, Events } from './types/schemas.ts'
