/**
 * profile:deactivate — disable the account (sudoToken, purpose deactivate) and revoke every device.
 * - sudo_required without a valid sudoToken (a missing one included)
 * - every live connection of the account, this one included, gets profile:session_revoked
 *   {reason: "deactivated"}; the reply therefore carries no `to`
 * - status, credentials epoch and devices change in one transaction, so a login already past argon2
 *   cannot leave a live device behind; a request whose device was revoked meanwhile answers auth_required
 * - the account row stays, so its username and user ID remain reserved; logging in with the right
 *   password answers user_disabled
 */
import { asSession, disableAccount } from '../../accounts/credentials.ts'
import { requireSudo } from '../../accounts/sudo.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:deactivate',
  auth: 'required',
  async handle(ctx) {
    const session = ctx.conn.session!
    await requireSudo(ctx, ctx.payload.sudoToken, 'deactivate')
    await asSession(ctx, session, () => disableAccount(ctx, session.accountID, session))
    return {}
  },
})
