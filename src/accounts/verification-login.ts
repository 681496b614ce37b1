// The passwordless half of profile:login: a verificationToken of purpose login instead of a password.
import { ProtocolError } from '../errors.ts'
import type { Context } from '../handler.ts'
import type { ThirdPID } from '../identifiers.ts'
import { loginAsNewDevice, type LoginPayload } from './devices.ts'
import { findByLoginKey } from './lookup.ts'
import { consumeToken, tokenMatches } from './verification.ts'

/**
 * Logs in with a login token of the named account (and, when the login names a 3PID, of that 3PID).
 * Neither the login_account bucket nor the password backoff applies: a single-use 256-bit token cannot
 * be guessed, and a code is how the owner still gets in while someone hammers the password (contract §7).
 * Success clears that backoff. Status is told only to a holder of a matching token.
 */
export async function loginWithToken(ctx: Context<'profile:login'>, key: string | null, token: string): Promise<LoginPayload> {
  const account = await findByLoginKey(ctx.store.accounts, key)
  if (!account || key === null) throw new ProtocolError('invalid_token')
  const colon = key.indexOf(':')
  const kind = key.slice(0, colon)
  const thirdPID: ThirdPID | undefined = kind === 'u' ? undefined : { type: kind as ThirdPID['type'], value: key.slice(colon + 1) }
  const match = thirdPID ? { purpose: 'login' as const, accountID: account.id, thirdPID } : { purpose: 'login' as const, accountID: account.id }
  // Every refusal comes before the token is used, so a refused login (device cap, disabled) keeps it.
  if (!(await tokenMatches(ctx, token, match))) throw new ProtocolError('invalid_token')
  if (account.status === 'disabled') throw new ProtocolError('user_disabled')
  if (account.status === 'pending') throw new ProtocolError('confirmation_required')
  const spend = async () => {
    await consumeToken(ctx, token, match)
    await ctx.store.accounts.clearLoginFailures(account.id)
  }
  // A password reset or deactivation committed while this login was in flight: the token login fails too.
  return loginAsNewDevice(ctx, account, ctx.payload, { stale: 'invalid_token', spend })
}
