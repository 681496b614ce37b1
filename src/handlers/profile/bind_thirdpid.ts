/**
 * profile:bind_thirdpid 🔒 — add a 3PID to the account, or replace its 3PID of that type, proven by a
 * verificationToken of purpose bind (requested by this account) and a sudoToken (purpose bind_thirdpid).
 * - invalid_token: unknown, used or expired token, or one for another purpose, 3PID or account
 * - id_exists: another account holds the 3PID verified (also when it proved it after the code was sent);
 *   another account's unverified claim is dropped instead (an unproven address reserves nothing)
 * - sudo_required: no valid sudoToken; checked last so that the other refusals do not burn it
 * - the 3PID is stored verified; the token is used by the same transaction that binds it
 */
import { orIdExists } from '../../accounts/create.ts'
import { requireSudo } from '../../accounts/sudo.ts'
import { holdsVerified, requireThirdPID } from '../../accounts/thirdpids.ts'
import { tokenMatches } from '../../accounts/verification.ts'
import { unlessStale } from '../../accounts/verification-signup.ts'
import { hashToken } from '../../auth/tokens.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:bind_thirdpid',
  auth: 'required',
  async handle(ctx) {
    const { payload, store } = ctx
    const { accountID } = ctx.conn.session!
    const thirdPID = requireThirdPID(payload.thirdPID)
    if (!(await tokenMatches(ctx, payload.verificationToken, { purpose: 'bind', accountID, thirdPID }))) throw new ProtocolError('invalid_token')
    const holder = await unlessStale(ctx, await store.accounts.byThirdPID(thirdPID))
    if (holder && holder.id !== accountID && holdsVerified(holder, thirdPID)) throw new ProtocolError('id_exists')
    await requireSudo(ctx, payload.sudoToken, 'bind_thirdpid')
    if (!(await orIdExists(store.verifications.bindThirdPID(hashToken(payload.verificationToken), accountID, thirdPID, ctx.clock.now())))) {
      throw new ProtocolError('invalid_token')
    }
    return {}
  },
})
