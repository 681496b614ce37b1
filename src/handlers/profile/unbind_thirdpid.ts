/**
 * profile:unbind_thirdpid 🔒 — remove one of the account's 3PIDs, proven by a sudoToken (purpose
 * unbind_thirdpid).
 * - not_found: the 3PID is not bound to this account
 * - forbidden: it would leave no way to log in. A way in is another 3PID (verified, so a code goes there, or used with the password), a
 *   password together with a username to name the account, or a linked identity provider or ticket issuer; the store re-checks this inside the delete's
 *   transaction, so two concurrent unbinds cannot strip the account together
 * - sudo_required: no valid sudoToken; checked after the refusals above so they do not burn it
 * - the 3PID's live codes and tokens for this account go with it
 */
import { requireSudo } from '../../accounts/sudo.ts'
import { requireThirdPID } from '../../accounts/thirdpids.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:unbind_thirdpid',
  auth: 'required',
  async handle(ctx) {
    const { payload, store } = ctx
    const { accountID } = ctx.conn.session!
    const thirdPID = requireThirdPID(payload.thirdPID)
    const account = await store.accounts.byID(accountID)
    if (!account?.thirdPIDs.some((t) => t.type === thirdPID.type && t.value === thirdPID.value)) throw new ProtocolError('not_found')
    const others = account.thirdPIDs.filter((t) => t.type !== thirdPID.type).length
    const named = account.passwordHash !== null && account.username !== null
    const linked = async () => (await store.providers.links(accountID)).length > 0 || (await store.tickets.linkedToAccount(accountID))
    if (others === 0 && !named && !(await linked())) throw new ProtocolError('forbidden')
    await requireSudo(ctx, payload.sudoToken, 'unbind_thirdpid')
    const outcome = await store.verifications.unbindThirdPID(accountID, thirdPID)
    if (outcome !== 'ok') throw new ProtocolError(outcome)
    return {}
  },
})
