/**
 * profile:deactivate — disable the account (sudoToken, purpose deactivate) and revoke every device.
 * - sudo_required without a valid sudoToken (a missing one included)
 * - every live connection of the account, this one included, gets profile:session_revoked
 *   {reason: "deactivated"}; the reply therefore carries no `to`
 * - the account row stays, so its username and user ID remain reserved; logging in with the right
 *   password answers user_disabled
 */
import { revokeAllDevices } from '../../accounts/devices.ts'
import { requireSudo } from '../../accounts/sudo.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:deactivate',
  auth: 'required',
  async handle(ctx) {
    const { accountID } = ctx.conn.session!
    await requireSudo(ctx, ctx.payload.sudoToken, 'deactivate')
    // Status first: a profile:auth racing with the revocation then finds the account disabled.
    await ctx.store.accounts.setStatus(accountID, 'disabled', ctx.clock.now())
    await revokeAllDevices(ctx, accountID, 'deactivated')
    return {}
  },
})
