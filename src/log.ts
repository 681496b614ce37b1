// Structured logs (pino). Secrets never reach a log line: payloads are not logged, and known secret keys are redacted.
import { pino, type Logger, type DestinationStream } from 'pino'

const secretKeys = ['password', 'oldPassword', 'newPassword', 'authToken', 'sudoToken', 'verificationToken', 'code', 'pushToken']

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'hafnium' },
      redact: { paths: [...secretKeys, ...secretKeys.map((k) => `*.${k}`)], censor: '[redacted]' },
    },
    destination,
  )
}
