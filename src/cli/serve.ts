// `hafnium serve`: load config, start, print the URL when ready; SIGHUP reloads TLS; drain on SIGTERM/SIGINT and exit 0.
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config.ts'
import { createLogger } from '../log.ts'
import { startServer } from '../server.ts'
import { DatabaseInUseError } from '../store/lock.ts'
import { ExtensionError } from '../extensions/load.ts'
import { pino } from 'pino'

/** A second signal this soon after the first is the same keypress delivered twice, not a request to force the exit. */
const repeatWindowMs = 1000

export async function serve(args: string[]): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        db: { type: 'string' },
      },
      strict: true,
    }))
  } catch (error) {
    process.stderr.write(`hafnium serve: ${(error as Error).message}\n`)
    return 2
  }
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    process.stderr.write(`hafnium serve: --port must be an integer from 0 to 65535, got "${values.port}"\n`)
    return 2
  }
  let config
  try {
    config = loadConfig({
      file: values.config,
      overrides: { server: { host: values.host, port }, database: { path: values.db } },
    })
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`hafnium serve: ${error.message}\n`)
      return 1
    }
    throw error
  }
  // Logs go to stderr as JSON lines (pino); stdout carries the human-readable ready line.
  const log = createLogger(process.env.LOG_LEVEL ?? config.log.level, pino.destination({ fd: 2, sync: false }))
  let server
  try {
    server = await startServer(config, { logger: log })
  } catch (error) {
    // A broken extension or a rule naming an unknown type: one line naming it, no stack trace.
    if (error instanceof ExtensionError || error instanceof ConfigError) {
      process.stderr.write(`hafnium serve: ${error.message}\n`)
      return 1
    }
    if (error instanceof DatabaseInUseError) {
      process.stderr.write(`hafnium serve: ${error.message}; refusing to start a second server on it\n`)
      return 1
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`hafnium serve: ${config.server.host}:${config.server.port} is already in use\n`)
      return 1
    }
    throw error
  }
  process.stdout.write(`listening on ${server.url}\n`)

  return new Promise<number>((resolve) => {
    let stoppingSince: number | undefined
    const stop = (signal: string) => {
      if (stoppingSince !== undefined) {
        // One Ctrl-C arrives twice under `npm start`: the terminal signals the process group and npm forwards it.
        if (Date.now() - stoppingSince < repeatWindowMs) return
        process.stderr.write(`hafnium serve: second ${signal}, exiting now\n`)
        process.exit(1)
      }
      stoppingSince = Date.now()
      log.info({ signal }, 'draining')
      server.close().then(
        () => {
          log.flush()
          resolve(0)
        },
        (error) => {
          log.error({ err: error }, 'shutdown failed')
          resolve(1)
        },
      )
    }
    // A renewed certificate is picked up without a restart; a broken one is refused and the old one kept.
    // Without TLS, SIGHUP keeps its default meaning (the terminal went away: exit).
    if (config.server.tls) {
      process.on('SIGHUP', () => {
        try {
          server.reloadTls()
        } catch (error) {
          log.error({ err: error }, 'TLS reload failed; still serving the previous certificate')
        }
      })
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
  })
}
