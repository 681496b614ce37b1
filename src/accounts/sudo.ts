// Sudo: the proof of a fresh re-authentication (profile:sudo) that sensitive operations demand.
import { loginBucket } from './lookup.ts'
import { generateSudoToken, hashToken } from '../auth/tokens.ts'
import { ProtocolError } from '../errors.ts'
import type { Context, MessageType, Session } from '../handler.ts'
import { asSession } from './credentials.ts'
import { LinkChanged } from '../store/errors.ts'
import type { SudoLink, SudoPurpose } from '../store/sudo-tokens.ts'

export type { SudoPurpose }

/**
 * Consumes `sudoToken` for `purpose` on behalf of the connection's account, or throws sudo_required
 * (missing, unknown, expired, another account's, or already used for this purpose). Call it only once
 * the operation is otherwise sure to go ahead, so a refusal for another reason does not burn the token.
 */
export async function requireSudo(ctx: Context<MessageType>, sudoToken: string | undefined, purpose: SudoPurpose): Promise<void> {
  const session = ctx.conn.session
  if (!session) throw new ProtocolError('auth_required')
  if (sudoToken === undefined) throw new ProtocolError('sudo_required')
  // Bound to the device it was issued to: another device's token, or one whose device was revoked, is refused.
  const ok = await ctx.store.sudoTokens.consume(hashToken(sudoToken), session, purpose, ctx.clock.now())
  if (!ok) throw new ProtocolError('sudo_required')
}

/**
 * Issues a sudoToken to the session's device; only its hash is stored. Returns it with its lifetime in
 * seconds. A device revoked while the request was in flight gets none: auth_required (see asSession).
 * With `link` (a re-authentication by provider) the insert re-checks that the identity is still linked
 * to the account: one unbound since it was read gets none either, invalid_creds, as a re-authentication
 * sent just after the unbind would.
 */
export async function issueSudoToken(ctx: Context<MessageType>, session: Session, link?: SudoLink): Promise<{ sudoToken: string; expiresIn: number }> {
  const sudoToken = generateSudoToken()
  const expiresIn = ctx.config.sessions.sudoTtl
  try {
    await asSession(ctx, session, () => ctx.store.sudoTokens.issue(hashToken(sudoToken), session, ctx.clock.now() + expiresIn * 1000, link))
  } catch (error) {
    if (error instanceof LinkChanged) throw new ProtocolError('invalid_creds')
    throw error
  }
  return { sudoToken, expiresIn }
}

/**
 * Charges the per-account password-guessing bucket (`login_account`) that profile:login charges, so a
 * password oracle behind an authenticated session (profile:sudo, set_password's oldPassword) cannot be
 * used to guess faster than logging in: the same bucket, keyed by the account.
 */
export async function chargePasswordAttempt(ctx: Context<MessageType>, account: { id: string; username: string | null }): Promise<void> {
  await ctx.limiter.enforceExact('login_account', loginBucket(account, null))
}
