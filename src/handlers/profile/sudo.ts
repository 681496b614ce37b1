/**
 * profile:sudo — re-authenticate with the account's password for a short-lived sudoToken
 * (config.sessions.sudoTtl seconds), each usable once per purpose (set_password, revoke_device, …).
 * - invalid_creds for a wrong password, an account without one, or a verificationToken that is not a
 *   live sudo token of this account (the contract lists only invalid_creds for this type)
 * - a password attempt charges the login_account bucket like profile:login → ratelimit_exceed; a token
 *   (256 bits, single use, sent to the account's own 3PID) cannot be guessed and is not charged
 * - the token is bound to this device: it dies with it (logout, revoke) and with every credential change;
 *   a request whose device was revoked while it was in flight gets none (auth_required)
 * - with a providerToken (contract §15): the identity must be linked to this account, else invalid_creds;
 *   the token is used up; not charged (single use, 256 bits) — how an account that only signs in with a
 *   provider re-authenticates. The link is re-checked where the sudoToken is stored (same transaction):
 *   one unbound while the request was in flight gets invalid_creds and no sudoToken
 * - only the token's SHA-256 is stored
 */
import { chargePasswordAttempt, issueSudoToken } from '../../accounts/sudo.ts'
import { hashToken } from '../../auth/tokens.ts'
import { spendLinkedProviderToken } from '../../accounts/provider-login.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:sudo',
  auth: 'required',
  async handle(ctx) {
    const session = ctx.conn.session!
    const { accountID } = session
    const account = await ctx.store.accounts.byID(accountID)
    if (!account) throw new ProtocolError('invalid_creds')
    const token = ctx.payload.verificationToken
    if (token !== undefined) {
      const used = await ctx.store.verifications.consumeToken(hashToken(token), { purpose: 'sudo', accountID }, ctx.clock.now())
      if (!used) throw new ProtocolError('invalid_creds')
      return issueSudoToken(ctx, session)
    }
    if (ctx.payload.providerToken !== undefined) {
      const link = await spendLinkedProviderToken(ctx, accountID, ctx.payload.providerToken)
      return issueSudoToken(ctx, session, link)
    }
    await chargePasswordAttempt(ctx, account)
    // A null hash still costs one argon2 run (the hasher's dummy), so both refusals take the same time.
    const { ok } = await ctx.passwords.verify(account.passwordHash, ctx.payload.password ?? '')
    if (!ok) throw new ProtocolError('invalid_creds')
    return issueSudoToken(ctx, session)
  },
})
