/**
 * profile:reset_password — set a new password with a verificationToken of purpose reset_password for one
 * of the account's 3PIDs (a forgotten password: no session needed).
 * - invalid_token: unknown, used or expired token, or one issued for another purpose, 3PID or account
 *   (a signup or login token cannot reset a password); the same for a 3PID no account uses
 * - weak_password (errPayload.reason) by the password policy, checked before the token is used
 * - every device of the account is revoked (profile:session_revoked, reason "password_changed"), this
 *   connection's included; no one is logged in by it (OWASP Forgot Password cheat sheet)
 * - the login backoff of the account is cleared, its sudoTokens deleted, and a login already past argon2
 *   when the reset commits fails (the credentials epoch moved)
 */
import { setPasswordHash } from '../../accounts/credentials.ts'
import { requireStrongPassword } from '../../accounts/passwords.ts'
import { requireThirdPID } from '../../accounts/thirdpids.ts'
import { consumeToken, tokenMatches } from '../../accounts/verification.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:reset_password',
  auth: 'none',
  async handle(ctx) {
    const { payload, store } = ctx
    const thirdPID = requireThirdPID(payload.thirdPID)
    const account = await store.accounts.byThirdPID(thirdPID)
    if (!account) throw new ProtocolError('invalid_token')
    requireStrongPassword(ctx, payload.newPassword, account)
    const match = { purpose: 'reset_password' as const, accountID: account.id, thirdPID }
    // Peek first, so a bogus token costs no argon2; use it only once the hash is ready.
    if (!(await tokenMatches(ctx, payload.verificationToken, match))) throw new ProtocolError('invalid_token')
    const passwordHash = await ctx.passwords.hash(payload.newPassword)
    await consumeToken(ctx, payload.verificationToken, match)

    // One transaction: new hash, epoch bumped (a login in flight cannot finish), backoff, devices and sudo tokens gone.
    await setPasswordHash(ctx, { accountID: account.id, passwordHash, clearFailures: true })
    return {}
  },
})
