// What the `hafnium user` commands share: their refusal, their environment, the audit line, how they
// find an account, and how they take a password (from stdin, checked against the policy).
import { findByLoginKey, loginKey } from '../accounts/lookup.ts'
import { maxPasswordLength, passwordVerdict } from '../accounts/passwords.ts'
import type { PasswordHasher, PasswordVerdict } from '../auth/passwords.ts'
import { audit, type AuditEvent } from '../audit.ts'
import { parseUserID, type ThirdPID } from '../identifiers.ts'
import type { Account } from '../store/accounts.ts'
import type { Store } from '../store/index.ts'
import type { Logger } from 'pino'
import type { Config } from '../types/schemas.ts'

/** A refusal to print as `hafnium user: message`; 2 for usage errors, 1 for failures. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = 1) {
    super(message)
  }
}

export interface Env {
  config: Readonly<Config>
  store: Store
  passwords: PasswordHasher
  clock: { now(): number }
  /** The admin's actions are audit events too, on stderr like the server's log (README > Operations). */
  log: Logger
}

/** One audit line for an admin action: who ran it (the OS user) and on which account. */
export function adminAudit(env: Env, event: AuditEvent, account: { userID: string }, fields: Record<string, unknown> = {}): void {
  audit(env.log, event, { userID: account.userID, by: 'admin-cli', osUser: process.env.USER ?? process.env.LOGNAME, ...fields })
}

export type Values = { email?: string; phone?: string; 'password-stdin'?: boolean; json?: boolean; 'release-username'?: boolean }

/** By user ID (`@…@…`), else as a login name: username, email or phone number. */
export async function findAccount(store: Store, who: string): Promise<Account> {
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

export function requireStrong(config: Readonly<Config>, password: string, account: { username: string | null; thirdPIDs: readonly ThirdPID[] }): void {
  const verdict = passwordVerdict(config, password, account)
  if (verdict) throw new CliError(`weak password (${verdict}): ${verdictText[verdict](config)}`)
}

/** The first line of stdin; from a terminal, read without echo. Never logged or printed. */
export async function readPassword(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
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
