// Password rules applied where a password is set (register, set, reset), and the verify-with-backoff of logins.
import { checkPasswordPolicy } from '../auth/passwords.ts'
import { ProtocolError } from '../errors.ts'
import type { Context, MessageType } from '../handler.ts'
import type { ThirdPID } from '../identifiers.ts'

export const maxPasswordLength = 256

/** Throws weak_password (errPayload.reason) unless `password` may be set for this account. */
export function requireStrongPassword(
  ctx: Context<MessageType>,
  password: string,
  account: { username: string | null; thirdPIDs: readonly ThirdPID[] },
): void {
  const context = [...ctx.config.server.domains, 'hafnium']
  if (account.username) context.push(account.username)
  for (const t of account.thirdPIDs) {
    context.push(t.value)
    if (t.type === 'email') context.push(t.value.slice(0, t.value.indexOf('@')))
  }
  const verdict = checkPasswordPolicy(password, { minLength: ctx.config.password.minLength, maxLength: maxPasswordLength, context })
  if (verdict) throw new ProtocolError('weak_password', { reason: verdict, minLength: ctx.config.password.minLength, maxLength: maxPasswordLength })
}
