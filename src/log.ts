// Structured logs (pino). Secrets never reach a log line: payloads are not logged, and known secret keys are redacted.
import { createRequire } from 'node:module'
import { pino, type Logger, type DestinationStream } from 'pino'
import type { PinoPretty } from 'pino-pretty'

const secretKeys = ['password', 'oldPassword', 'newPassword', 'authToken', 'sudoToken', 'verificationToken', 'code', 'pushToken', 'providerToken', 'state', 'clientSecret', 'captcha']

/** pino's levels, and `silent`: anything else is refused before pino would throw on it. */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** Why `level` is not usable, naming it; undefined when it is. */
export function logLevelProblem(level: string, source: string): string | undefined {
  if ((logLevels as readonly string[]).includes(level)) return undefined
  return `${source} is "${level}", which is not a log level (one of ${logLevels.join(', ')})`
}

/** Where the server's log goes: stderr, as JSON lines or, for people at a terminal, pretty lines. */
export function stderrDestination(format: 'json' | 'pretty' | undefined): DestinationStream {
  const pretty = format === undefined ? process.stderr.isTTY === true : format === 'pretty'
  if (!pretty) return pino.destination({ fd: 2, sync: false })
  // In-process (no worker thread): the same redaction applies, since pino-pretty formats the redacted line.
  // Required only for pretty lines: a server logging JSON keeps pino-pretty out of its heap.
  const library = createRequire(import.meta.url)('pino-pretty') as { PinoPretty: typeof PinoPretty }
  return library.PinoPretty({ destination: 2, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' })
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'hafnium' },
      serializers: { err: serializeError },
      redact: { paths: [...secretKeys, ...secretKeys.map((k) => `*.${k}`)], censor: '[redacted]' },
    },
    destination,
  )
}

/**
 * An error's `code` (SQLITE_FULL, ECONNREFUSED) would be redacted as if it were a one-time code, leaving
 * operators without it: a symbolic code moves to `errorCode`. Anything else under `code` stays redacted.
 */
function serializeError(error: Error): object {
  const serialized = pino.stdSerializers.err(error) as { code?: unknown; errorCode?: unknown }
  if (typeof serialized.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(serialized.code)) {
    serialized.errorCode = serialized.code
    delete serialized.code
  }
  return serialized
}
