// `hafnium user`: account administration on the database file, with or without a server running on it.
import { existsSync } from 'node:fs'
import { createPasswordHasher } from '../auth/passwords.ts'
import { ConfigError, loadConfig } from '../config.ts'
import type { Store } from '../store/index.ts'
import { openConfiguredStore } from '../store/open.ts'
import { createLogger, logLevelProblem, stderrDestination } from '../log.ts'
import type { Config } from '../types/schemas.ts'
import { groupHelp, parseCommand, type CommandSpec } from './command.ts'
import { add, erase, list, passwd, setStatus, show } from './user-actions.ts'
import { CliError, type Env, type Values } from './user-support.ts'

const common: CommandSpec['options'] = {
  config: { type: 'string', value: 'FILE', help: 'configuration file (for database.path and the password rules)' },
  db: { type: 'string', value: 'FILE', help: 'SQLite database file (overrides database.path)' },
}
const userArg = { name: 'USER', help: 'a username, a user ID (@juliet@localhost), an email address or a phone number' }
const passwordNote = `The password is the first line of stdin (read without echo from a terminal), never an argument,
where other users could see it (ps).`

export interface Subcommand {
  spec: CommandSpec
  run(env: Env, values: Values, positionals: string[]): Promise<void>
}

export const subcommands: Subcommand[] = [
  {
    spec: {
      name: 'user add',
      summary: 'create an active account; prints its user ID',
      positionals: [{ name: 'USERNAME', help: 'the new username' }],
      options: {
        email: { type: 'string', value: 'E', help: 'an email address for the account' },
        phone: { type: 'string', value: 'P', help: 'an E.164 phone number for the account' },
        'password-stdin': { type: 'boolean', help: 'read a password from stdin; without it the account cannot log in with a password until "passwd"' },
        ...common,
      },
      notes: passwordNote,
      examples: ['echo "$PASSWORD" | hafnium user add juliet --email juliet@example.org --password-stdin'],
    },
    run: add,
  },
  {
    spec: { name: 'user list', summary: "one line per account (--json: a JSON array, with each device's last seen time and expiry)", options: { json: { type: 'boolean', help: 'print a JSON array' }, ...common }, examples: ['hafnium user list --json'] },
    run: list,
  },
  {
    spec: {
      name: 'user show',
      summary: 'one account: status, contacts, and each device with when and from where it was last seen',
      positionals: [userArg],
      options: { json: { type: 'boolean', help: 'print JSON' }, ...common },
      examples: ['hafnium user show juliet'],
    },
    run: show,
  },
  {
    spec: { name: 'user disable', summary: 'disable the account and delete all its devices', positionals: [userArg], options: common, examples: ['hafnium user disable juliet'] },
    run: (env, _, [who]) => setStatus(env, who!, 'disabled'),
  },
  {
    spec: { name: 'user enable', summary: 'make the account active (also confirms a pending one)', positionals: [userArg], options: common, examples: ['hafnium user enable juliet'] },
    run: (env, _, [who]) => setStatus(env, who!, 'active'),
  },
  {
    spec: {
      name: 'user passwd',
      summary: 'set a new password and delete all its devices',
      positionals: [userArg],
      options: { 'password-stdin': { type: 'boolean', help: 'read the new password from stdin (required)' }, ...common },
      notes: passwordNote,
      examples: ['echo "$PASSWORD" | hafnium user passwd juliet --password-stdin'],
    },
    run: passwd,
  },
  {
    spec: {
      name: 'user delete',
      summary: 'erase the account: contacts, profile, password, devices, codes; the username stays reserved',
      positionals: [userArg],
      options: { 'release-username': { type: 'boolean', help: 'delete the account row too, so the username can be registered again' }, ...common },
      notes: `Without --release-username the account stays as a disabled tombstone holding only its username
and user ID, so that nobody else can register the name and be taken for its old owner.`,
      examples: ['hafnium user delete juliet', 'hafnium user delete @juliet@localhost --release-username'],
    },
    run: erase,
  },
]

const help = groupHelp(
  'user',
  'account administration on the database file, with or without a server running on it',
  subcommands.map((s) => s.spec),
  `The commands work beside a running server (SQLite WAL). They cannot reach the sockets that server
has already authenticated: a deleted device's token stops working at its next profile:auth, and a
live socket of it is cut off at its next write (a read still answers until then). A login already
in flight when disable or passwd commits fails.`,
)

export async function user(args: string[]): Promise<number> {
  const [name, ...rest] = args
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    ;(name === undefined ? process.stderr : process.stdout).write(help)
    return name === undefined ? 2 : 0
  }
  const command = subcommands.find((s) => s.spec.name === `user ${name}`)
  if (!command) return report(new CliError(`${name.startsWith('-') ? `unknown option ${name}` : `unknown command "${name}"`} (see hafnium user --help)`, 2))
  const parsed = parseCommand(command.spec, rest)
  if ('exit' in parsed) return parsed.exit
  const values = parsed.values as Values & { config?: string; db?: string }
  const positionals = parsed.positionals

  let config: Readonly<Config>
  try {
    config = loadConfig({ file: values.config, overrides: { database: { path: values.db } } })
  } catch (error) {
    if (error instanceof ConfigError) return report(new CliError(error.message))
    throw error
  }
  // Only "add" may create the file: a mistyped --db elsewhere should not leave an empty database behind.
  if (name !== 'add' && !config.database.url && config.database.path !== ':memory:' && !existsSync(config.database.path)) {
    return report(new CliError(`no database at ${config.database.path}`))
  }
  const levelProblem = process.env.LOG_LEVEL === undefined ? undefined : logLevelProblem(process.env.LOG_LEVEL, 'LOG_LEVEL')
  if (levelProblem) return report(new CliError(levelProblem))
  const log = createLogger(process.env.LOG_LEVEL ?? config.log.level, stderrDestination(config.log.format))
  let store: Store | undefined
  try {
    store = await openConfiguredStore(config.database, { lock: false })
    const passwords = createPasswordHasher({
      params: config.password.argon2,
      maxConcurrent: config.password.maxConcurrentHashes,
      maxQueued: config.password.maxQueuedHashes,
    })
    await command.run({ config, store, passwords, clock: { now: Date.now }, log }, values, positionals)
    return 0
  } catch (error) {
    return report(error instanceof CliError ? error : new CliError((error as Error).message))
  } finally {
    await store?.close()
    log.flush()
  }
}

function report(error: CliError): number {
  process.stderr.write(`hafnium user: ${error.message}\n`)
  return error.exitCode
}
