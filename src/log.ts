// Structured logs (pino). Secrets never reach a log line: payloads are not logged, and known secret keys are redacted.
import { pino, type Logger, type DestinationStream } from 'pino'

const secretKeys = ['password', 'oldPassword', 'newPassword', 'authToken', 'sudoToken', 'verificationToken', 'code', 'pushToken']

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
