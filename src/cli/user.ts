// `hafnium user`: account administration on the database file, with or without a server running on it.
import { existsSync } from 'node:fs'
import { createAccount } from '../accounts/create.ts'
import { changePassword, disableAccount, type CredentialDeps } from '../accounts/credentials.ts'
import { findByLoginKey, loginKey } from '../accounts/lookup.ts'
import { maxPasswordLength, passwordVerdict } from '../accounts/passwords.ts'
import { expiresAt } from '../accounts/session-lifetime.ts'
import { createPasswordHasher, type PasswordHasher, type PasswordVerdict } from '../auth/passwords.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { ProtocolError } from '../errors.ts'
import { normaliseUsername, parseThirdPID, parseUserID, type ThirdPID } from '../identifiers.ts'
import type { Account } from '../store/accounts.ts'
import type { Store } from '../store/index.ts'
import { openConfiguredStore } from '../store/open.ts'
import { audit, type AuditEvent } from '../audit.ts'
import { createLogger, logLevelProblem, stderrDestination } from '../log.ts'
import type { Logger } from 'pino'
import type { Config } from '../types/schemas.ts'
import { groupHelp, parseCommand, type Command, type CommandSpec } from './command.ts'

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

/** A refusal to print as `hafnium user: message`; 2 for usage errors, 1 for failures. */
class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = 1) {
    super(message)
  }
}

interface Env {
  config: Readonly<Config>
  store: Store
  passwords: PasswordHasher
  clock: { now(): number }
  /** The admin's actions are audit events too, on stderr like the server's log (README > Operations). */
  log: Logger
}

/** One audit line for an admin action: who ran it (the OS user) and on which account. */
function adminAudit(env: Env, event: AuditEvent, account: { userID: string }, fields: Record<string, unknown> = {}): void {
  audit(env.log, event, { userID: account.userID, by: 'admin-cli', osUser: process.env.USER ?? process.env.LOGNAME, ...fields })
}

type Values = { email?: string; phone?: string; 'password-stdin'?: boolean; json?: boolean; 'release-username'?: boolean }

export const userCommand: Command = { name: 'user', summary: 'administer accounts on the database file (add, list, show, delete…)', run: (args) => user(args) }

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

async function add(env: Env, values: Values, [input]: string[]): Promise<void> {
  const username = normaliseUsername(input!)
  if (!username) throw new CliError(`"${input}" is not a valid username (1..64 characters from a-z 0-9 . _ = - /)`, 2)
  const thirdPIDs: ThirdPID[] = []
  for (const [type, value] of [['email', values.email], ['msisdn', values.phone]] as const) {
    if (value === undefined) continue
    const thirdPID = parseThirdPID({ type, value })
    if (!thirdPID) throw new CliError(`"${value}" is not a valid ${type === 'email' ? 'email address' : 'E.164 phone number'}`, 2)
    thirdPIDs.push(thirdPID)
  }
  const password = values['password-stdin'] ? await readPassword() : null
  if (password !== null) requireStrong(env.config, password, { username, thirdPIDs })
  try {
    // The administrator vouches for the addresses given: they are stored verified (they reserve themselves
    // and receive login and reset codes), as a signup code would have made them.
    const account = await createAccount(env, { username, thirdPIDs, proven: thirdPIDs, password, status: 'active' })
    adminAudit(env, 'admin.user.added', account, { withPassword: password !== null })
    process.stdout.write(`${account.userID}\n`)
  } catch (error) {
    if (error instanceof ProtocolError && error.errID === 'id_exists') throw new CliError('username or 3PID already taken')
    throw error
  }
}

async function list(env: Env, values: Values): Promise<void> {
  const rows = []
  const page = 500
  for (let offset = 0; ; offset += page) {
    const accounts = await env.store.accounts.list(offset, page)
    for (const account of accounts) {
      rows.push({
        userID: account.userID,
        username: account.username,
        status: account.status,
        thirdPIDs: account.thirdPIDs,
        devices: await env.store.devices.count(account.id),
        createdAt: new Date(account.createdAt).toISOString(),
        deviceList: await deviceSummaries(env, account.id),
      })
    }
    if (accounts.length < page) break
  }
  if (values.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
  for (const row of rows) {
    const contacts = row.thirdPIDs.map((t) => t.value).join(',') || '-'
    const devices = `${row.devices} device${row.devices === 1 ? '' : 's'}`
    process.stdout.write(`${[row.userID, row.status, contacts, devices, row.createdAt].join('\t')}\n`)
  }
}

/**
 * Each device with when it was last seen and when it expires (sessions.idleTimeout / maxAge; null: never).
 * A running server writes last-seen times in batches (ratelimit.flushIntervalMs), so they may lag by that.
 */
async function deviceSummaries(env: Env, accountID: string) {
  const devices = await env.store.devices.list(accountID)
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return devices.map((device) => ({
    deviceID: device.id,
    name: device.name,
    createdAt: iso(device.createdAt),
    lastSeenAt: iso(device.lastSeenAt),
    expiresAt: iso(expiresAt(device, env.config.sessions)),
  }))
}

/**
 * The same domain operations as profile:deactivate and profile:set_password. This process reaches no
 * server's sockets: the server cuts a deleted device's sockets off at their next write or profile:auth.
 */
const noSockets: CredentialDeps['sessions'] = { revokeAccount() {}, revokeDevice() {} }

async function setStatus(env: Env, who: string, status: 'active' | 'disabled'): Promise<void> {
  const account = await findAccount(env.store, who)
  if (status === 'active') {
    await env.store.accounts.setStatus(account.id, status, env.clock.now())
    adminAudit(env, 'admin.user.enabled', account)
    return void process.stdout.write(`${account.userID} enabled\n`)
  }
  const deleted = await disableAccount({ ...env, sessions: noSockets }, account.id)
  adminAudit(env, 'admin.user.disabled', account, { devices: deleted })
  process.stdout.write(`${account.userID} disabled; ${deleted} device(s) deleted\n`)
}

async function show(env: Env, values: Values, [who]: string[]): Promise<void> {
  const account = await findAccount(env.store, who!)
  const devices = (await env.store.devices.list(account.id)).map((d) => ({
    deviceID: d.id,
    name: d.name,
    createdAt: new Date(d.createdAt).toISOString(),
    lastSeenAt: new Date(d.lastSeenAt).toISOString(),
    lastIP: d.lastIP,
  }))
  const view = {
    userID: account.userID,
    username: account.username,
    status: account.status,
    thirdPIDs: account.thirdPIDs,
    createdAt: new Date(account.createdAt).toISOString(),
    devices,
  }
  if (values.json) return void process.stdout.write(`${JSON.stringify(view, null, 2)}\n`)
  const contacts = account.thirdPIDs.map((t) => `${t.value}${t.verified ? '' : ' (unverified)'}`).join(', ') || '-'
  const lines = [`${view.userID}  ${view.status}  created ${view.createdAt}`, `contacts: ${contacts}`, `devices: ${devices.length}`]
  for (const d of devices) lines.push(`  ${d.deviceID}  ${JSON.stringify(d.name)}  last seen ${d.lastSeenAt} from ${d.lastIP ?? '-'}  (since ${d.createdAt})`)
  process.stdout.write(`${lines.join('\n')}\n`)
}

async function erase(env: Env, values: Values, [who]: string[]): Promise<void> {
  const account = await findAccount(env.store, who!)
  const devices = await env.store.devices.count(account.id)
  const releaseUsername = values['release-username'] === true
  await env.store.accounts.erase(account.id, { releaseUsername, now: env.clock.now() })
  adminAudit(env, 'admin.user.deleted', account, { devices, releaseUsername })
  const name = releaseUsername ? 'its username is free again' : 'its username stays reserved'
  process.stdout.write(`${account.userID} deleted; ${devices} device(s) deleted; ${name}\n`)
}

async function passwd(env: Env, values: Values, [who]: string[]): Promise<void> {
  if (!values['password-stdin']) throw new CliError('passwd reads the new password from stdin: add --password-stdin', 2)
  const account = await findAccount(env.store, who!)
  const password = await readPassword()
  requireStrong(env.config, password, account)
  const deleted = await changePassword({ ...env, sessions: noSockets }, { accountID: account.id, newPassword: password, clearFailures: true })
  adminAudit(env, 'admin.user.password_changed', account, { devices: deleted })
  process.stdout.write(`${account.userID}: password changed; ${deleted} device(s) deleted\n`)
}

/** By user ID (`@…@…`), else as a login name: username, email or phone number. */
async function findAccount(store: Store, who: string): Promise<Account> {
  const account = parseUserID(who)
    ? ((await store.accounts.byUserID(who)) ?? (await store.accounts.byUserID(who.toLowerCase())))
    : await findByLoginKey(store.accounts, loginKey({ loginID: who }))
  if (!account) throw new CliError(`no account "${who}"`)
  return account
}

const verdictText: Record<PasswordVerdict, (config: Readonly<Config>) => string> = {
  too_short: (config) => `shorter than ${config.password.minLength} characters`,
  too_long: () => `longer than ${maxPasswordLength} characters`,
  common: () => 'one of the most common passwords',
  context: () => 'it is or contains the username, an email address, a phone number or the server name',
}

function requireStrong(config: Readonly<Config>, password: string, account: { username: string | null; thirdPIDs: readonly ThirdPID[] }): void {
  const verdict = passwordVerdict(config, password, account)
  if (verdict) throw new CliError(`weak password (${verdict}): ${verdictText[verdict](config)}`)
}

/** The first line of stdin; from a terminal, read without echo. Never logged or printed. */
async function readPassword(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  stdin.setEncoding('utf8')
  const tty = stdin.isTTY
  if (tty) {
    process.stderr.write('new password: ')
    stdin.setRawMode(true)
  }
  let text = ''
  try {
    read: for await (const chunk of stdin as AsyncIterable<string>) {
      for (const char of chunk) {
        if (char === '\n' || (tty && char === '\r')) break read
        if (tty && (char === '\u0003' || char === '\u0004')) throw new CliError('cancelled')
        if (tty && (char === '\u007f' || char === '\b')) text = [...text].slice(0, -1).join('')
        else text += char
      }
    }
  } finally {
    if (tty) {
      stdin.setRawMode(false)
      process.stderr.write('\n')
    }
  }
  text = text.replace(/\r$/, '')
  if (text === '') throw new CliError('no password on stdin')
  return text
}
