// Configuration enters once: server.config.json, deep-merged with --config and flags, validated, frozen.
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadSchemas, formatErrors } from './schemas.ts'
import { TicketKeyError, ticketIssuers } from './auth/ticket-keys.ts'
import { ProviderConfigError, checkProviders } from './auth/oidc.ts'
import type { Config } from './types/schemas.ts'
import { CidrError, parseCidrList } from './transport/client-address.ts'

export const defaultConfigPath = new URL('../server.config.json', import.meta.url)

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] }

/** Defaults ← file ← overrides; objects merge key by key, arrays and scalars replace. */
export function loadConfig(options: { file?: string; overrides?: DeepPartial<Config> } = {}): Readonly<Config> {
  let merged = extensionsFromFile(readJson(defaultConfigPath), fileURLToPath(defaultConfigPath))
  if (options.file) merged = deepMerge(merged, extensionsFromFile(readJson(options.file), options.file))
  if (options.overrides) merged = deepMerge(merged, options.overrides)
  const validate = loadSchemas().config
  if (!validate(merged)) {
    const [first] = formatErrors(validate.errors)
    const key = first!.path.slice(1).split('/').join('.') || '(root)'
    // Name the wrong value and the allowed ones (log.level "verbose"), not only "one of the allowed values".
    const raw = validate.errors?.[0]
    const allowed = raw?.keyword === 'enum' ? (raw.params as { allowedValues: unknown[] }).allowedValues : undefined
    const detail = allowed ? `${JSON.stringify(pointerGet(merged, raw!.instancePath))} is not one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : first!.message
    throw new ConfigError(`config: ${key}: ${detail}`)
  }
  checkCidrs(merged as unknown as Config)
  const config = deepFreeze(merged as unknown as Config)
  // What a schema cannot say: a secret's byte length, a PEM that parses to the right kind of key.
  try {
    ticketIssuers(config.tickets)
    checkProviders(config.providers)
  } catch (error) {
    if (error instanceof TicketKeyError || error instanceof ProviderConfigError) throw new ConfigError(`config: ${error.path}: ${error.message}`)
    throw error
  }
  return config
}

/** CIDR lists are checked here, so a typo stops start-up naming the key instead of trusting nobody. */
function checkCidrs(config: Config): void {
  try {
    parseCidrList(config.server.trustProxy, 'server.trustProxy')
    parseCidrList(config.metrics.allow, 'metrics.allow')
  } catch (error) {
    if (error instanceof CidrError) throw new ConfigError(error.message)
    throw error
  }
}

/** Extension paths in a config file are relative to that file (so a config and its extensions move together). */
function extensionsFromFile(file: Record<string, unknown>, path: string): Record<string, unknown> {
  if (!Array.isArray(file.extensions)) return file
  const base = dirname(resolve(path))
  return { ...file, extensions: file.extensions.map((p: unknown) => (typeof p === 'string' && p !== '' && !isAbsolute(p) ? resolve(base, p) : p)) }
}

function readJson(path: string | URL): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`config: cannot read ${String(path)}: ${(error as Error).message}`)
  }
  try {
    const value = JSON.parse(text)
    if (!isPlainObject(value)) throw new Error('not a JSON object')
    return value
  } catch (error) {
    throw new ConfigError(`config: ${String(path)} is not valid JSON: ${(error as Error).message}`)
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function deepMerge(base: Record<string, unknown>, override: object): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue
    // A JSON "__proto__" key would replace the merged object's prototype; it is never a config key.
    if (key === '__proto__') throw new ConfigError('config: __proto__: unknown key')
    const current = result[key]
    result[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value
  }
  return result
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

function pointerGet(value: unknown, pointer: string): unknown {
  let node = value
  for (const segment of pointer.split('/').slice(1)) node = (node as Record<string, unknown> | undefined)?.[segment.replace(/~1/g, '/').replace(/~0/g, '~')]
  return node
}
