// `hafnium serve`: load config, start, print the URL when ready; SIGHUP reloads TLS; drain on SIGTERM/SIGINT and exit 0.
import { ConfigError, loadConfig } from '../config.ts'
import { parseCommand, usageError, type CommandSpec } from './command.ts'
import { createLogger, logLevelProblem, stderrDestination } from '../log.ts'
import { startServer } from '../server.ts'
import { DatabaseInUseError } from '../store/lock.ts'
import { ExtensionError } from '../extensions/load.ts'
import { pino } from 'pino'

/** A second signal this soon after the first is the same keypress delivered twice, not a request to force the exit. */
const repeatWindowMs = 1000

export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'start the server; prints "listening on ws://HOST:PORT/" when ready, drains on SIGTERM/SIGINT',
  options: {
    config: { type: 'string', value: 'FILE', help: 'configuration file, merged over the shipped server.config.json' },
    host: { type: 'string', value: 'HOST', help: 'address to listen on (overrides server.host)' },
    port: { type: 'string', value: 'N', help: 'port to listen on, 0 for any free one (overrides server.port)' },
    db: { type: 'string', value: 'FILE', help: 'SQLite database file (overrides database.path)' },
  },
  notes: 'Logs go to stderr: log.format json or pretty (default: pretty at a terminal); LOG_LEVEL overrides log.level. One server per database file.',
  examples: ['hafnium serve --config server.config.json --port 7777'],
}

export async function serve(args: string[]): Promise<number> {
  const parsed = parseCommand(serveSpec, args)
  if ('exit' in parsed) return parsed.exit
  const values = parsed.values as { config?: string; host?: string; port?: string; db?: string }
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    return usageError(serveSpec, `--port must be an integer from 0 to 65535, got "${values.port}"`).exit
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
  // A bad LOG_LEVEL is a configuration error like a bad log.level, not a pino stack trace.
  const levelProblem = process.env.LOG_LEVEL === undefined ? undefined : logLevelProblem(process.env.LOG_LEVEL, 'LOG_LEVEL')
  if (levelProblem) {
    process.stderr.write(`hafnium serve: ${levelProblem}\n`)
    return 1
  }
  // Logs go to stderr (JSON lines, or pretty ones at a terminal); stdout carries the human-readable ready line.
  const log = createLogger(process.env.LOG_LEVEL ?? config.log.level, stderrDestination(config.log.format))
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
  // The handlers go in before the ready line: a supervisor may signal the moment it reads it (seen on a
  // loaded machine: the writer was preempted after write(), and SIGTERM's default action killed it).
  const stopped = new Promise<number>((resolve) => {
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
  process.stdout.write(`listening on ${server.url}\n`)
  return stopped
}
