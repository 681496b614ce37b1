/**
 * profile:set_password — change the password, proven by a sudoToken (purpose set_password) or the
 * current password (oldPassword; charges the login_account bucket like profile:login).
 * - sudo_required without proof, with a used/expired sudoToken, or a wrong oldPassword
 * - weak_password (errPayload.reason) by the password policy, checked first so no sudoToken is burnt on it
 * - every OTHER device is revoked (profile:session_revoked, reason "password_changed"); this one stays,
 *   and every sudoToken of the account is deleted
 * - races (issue 11): with oldPassword the change is a compare-and-swap on the hash just verified, so of
 *   concurrent changes with the same oldPassword exactly one succeeds (the others: sudo_required); a
 *   request whose device was revoked while it was in flight answers auth_required and changes nothing
 */
import { asSession, changePassword } from '../../accounts/credentials.ts'
import { requireStrongPassword } from '../../accounts/passwords.ts'
import { chargePasswordAttempt, requireSudo } from '../../accounts/sudo.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'
import { CredentialsChanged } from '../../store/errors.ts'

export default defineHandler({
  type: 'profile:set_password',
  auth: 'required',
  async handle(ctx) {
    const { payload } = ctx
    const session = ctx.conn.session!
    const account = await ctx.store.accounts.byID(session.accountID)
    if (!account) throw new ProtocolError('sudo_required')
    requireStrongPassword(ctx, payload.newPassword, account)

    let expectHash: string | null | undefined
    if (payload.oldPassword !== undefined) {
      await chargePasswordAttempt(ctx, account)
      const { ok } = await ctx.passwords.verify(account.passwordHash, payload.oldPassword)
      if (!ok) throw new ProtocolError('sudo_required')
      expectHash = account.passwordHash
    } else {
      await requireSudo(ctx, payload.sudoToken, 'set_password')
    }

    const change = { accountID: account.id, newPassword: payload.newPassword, actor: session, expectHash }
    try {
      await asSession(ctx, session, () => changePassword(ctx, change))
    } catch (error) {
      // The old password stopped being the password while it was being verified.
      if (error instanceof CredentialsChanged) throw new ProtocolError('sudo_required')
      throw error
    }
    return {}
  },
})
