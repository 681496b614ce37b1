/**
 * profile:set_password — change the password, proven by a sudoToken (purpose set_password) or the
 * current password (oldPassword; charges the login_account bucket like profile:login).
 * - sudo_required without proof, with a used/expired sudoToken, or a wrong oldPassword
 * - weak_password (errPayload.reason) by the password policy, checked first so no sudoToken is burnt on it
 * - every OTHER device is revoked (profile:session_revoked, reason "password_changed"); this one stays
 */
import { revokeAllDevices } from '../../accounts/devices.ts'
import { requireStrongPassword } from '../../accounts/passwords.ts'
import { chargePasswordAttempt, requireSudo } from '../../accounts/sudo.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:set_password',
  auth: 'required',
  async handle(ctx) {
    const { payload } = ctx
    const { accountID, deviceID } = ctx.conn.session!
    const account = await ctx.store.accounts.byID(accountID)
    if (!account) throw new ProtocolError('sudo_required')
    requireStrongPassword(ctx, payload.newPassword, account)

    if (payload.oldPassword !== undefined) {
      chargePasswordAttempt(ctx, account)
      const { ok } = await ctx.passwords.verify(account.passwordHash, payload.oldPassword)
      if (!ok) throw new ProtocolError('sudo_required')
    } else {
      await requireSudo(ctx, payload.sudoToken, 'set_password')
    }

    const passwordHash = await ctx.passwords.hash(payload.newPassword)
    await ctx.store.accounts.setPasswordHash(accountID, passwordHash, ctx.clock.now())
    await revokeAllDevices(ctx, accountID, 'password_changed', deviceID)
    return {}
  },
})
