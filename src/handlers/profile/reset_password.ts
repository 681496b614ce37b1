/**
 * profile:reset_password — set a new password with a verificationToken of purpose reset_password for one
 * of the account's 3PIDs (a forgotten password: no session needed).
 * - invalid_token: unknown, used or expired token, or one issued for another purpose, 3PID or account
 *   (a signup or login token cannot reset a password); the same for a 3PID no account uses
 * - the token is checked before anything else about the account: until it matches every refusal is
 *   invalid_token, so the password policy (whose context is the account's names) tells nothing to a
 *   guesser (audit issue 11 §3); charged to the per-IP rule reset_ip
 * - weak_password (errPayload.reason) by the password policy, checked before the token is used
 * - every device of the account is revoked (profile:session_revoked, reason "password_changed"), this
 *   connection's included; no one is logged in by it (OWASP Forgot Password cheat sheet)
 * - the login backoff of the account is cleared, its sudoTokens deleted, and a login already past argon2
 *   when the reset commits fails (the credentials epoch moved); its unverified 3PIDs are dropped: the
 *   reset proved one address, the unproven ones may be an attacker's way back in (pre-account hijacking)
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
    // The token look-up runs whether or not an account was found (a null account matches no reset
    // token), so a missing account is told neither by the answer nor by one query fewer.
    const match = { purpose: 'reset_password' as const, accountID: account?.id ?? null, thirdPID }
    // Peek only, so a bogus token costs no argon2 and a weak password does not burn a good one.
    if (!(await tokenMatches(ctx, payload.verificationToken, match)) || !account) throw new ProtocolError('invalid_token')
    requireStrongPassword(ctx, payload.newPassword, account)
    const passwordHash = await ctx.passwords.hash(payload.newPassword)
    await consumeToken(ctx, payload.verificationToken, match)

    // One transaction: new hash, epoch bumped (a login in flight cannot finish), backoff, devices, sudo tokens
    // and unverified 3PIDs gone.
    await setPasswordHash(ctx, { accountID: account.id, passwordHash, clearFailures: true, dropUnverified: true })
    return {}
  },
})
