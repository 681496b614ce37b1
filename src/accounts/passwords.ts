// Password rules applied where a password is set (register, set, reset, the admin CLI).
import { checkPasswordPolicy, type PasswordVerdict } from '../auth/passwords.ts'
import { ProtocolError } from '../errors.ts'
import type { Context, MessageType } from '../handler.ts'
import type { ThirdPID } from '../identifiers.ts'
import type { Config } from '../types/schemas.ts'

export const maxPasswordLength = 256

type PasswordOwner = { username: string | null; thirdPIDs: readonly ThirdPID[] }

/**
 * Why `password` may not be set for this account, or null. The context words are what a guesser
 * tries first: the server's names, the username, each 3PID and an email's local part.
 */
export function passwordVerdict(config: Pick<Config, 'server' | 'password'>, password: string, account: PasswordOwner): PasswordVerdict | null {
  const context = [...config.server.domains, 'hafnium']
  if (account.username) context.push(account.username)
  for (const t of account.thirdPIDs) {
    context.push(t.value)
    if (t.type === 'email') context.push(t.value.slice(0, t.value.indexOf('@')))
  }
  return checkPasswordPolicy(password, { minLength: config.password.minLength, maxLength: maxPasswordLength, context })
}

/** Throws weak_password (errPayload.reason) unless `password` may be set for this account. */
export function requireStrongPassword(ctx: Context<MessageType>, password: string, account: PasswordOwner): void {
  const verdict = passwordVerdict(ctx.config, password, account)
  if (verdict) throw new ProtocolError('weak_password', { reason: verdict, minLength: ctx.config.password.minLength, maxLength: maxPasswordLength })
}
