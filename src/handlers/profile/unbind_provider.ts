/**
 * profile:unbind_provider 🔒 — unlink an identity provider from this account, proven by a sudoToken
 * (purpose unbind_provider).
 * - not_found: the account has no link to that providerID
 * - forbidden: it would leave no way to log in. A way in is a password with a username or a 3PID to name
 *   the account, a verified 3PID (a code goes there), another linked provider or a ticket issuer; the store
 *   re-checks this inside the delete's transaction, so two concurrent unbinds cannot strip the account
 * - sudo_required: no valid sudoToken; checked after the refusals above so they do not burn it
 * - a provider removed from the config can still be unlinked
 */
import { requireSudo } from '../../accounts/sudo.ts'
import { ProtocolError } from '../../errors.ts'
import { audit } from '../../audit.ts'
import { defineHandler } from '../../handler.ts'
import { LastWayIn } from '../../store/errors.ts'

export default defineHandler({
  type: 'profile:unbind_provider',
  auth: 'required',
  async handle(ctx) {
    const { payload, store } = ctx
    const { accountID } = ctx.conn.session!
    const links = await store.providers.links(accountID)
    if (!links.some((l) => l.providerID === payload.providerID)) throw new ProtocolError('not_found')
    const account = await store.accounts.byID(accountID)
    const otherWays =
      links.length > 1 ||
      account?.thirdPIDs.some((t) => t.verified) ||
      (account?.passwordHash != null && (account.username !== null || account.thirdPIDs.length > 0))
    // An early answer that spares the sudoToken; the store decides again in the delete's transaction.
    if (!otherWays && !(await store.tickets.linkedToAccount(accountID))) throw new ProtocolError('forbidden')
    await requireSudo(ctx, payload.sudoToken, 'unbind_provider')
    try {
      if (!(await store.providers.unbind(accountID, payload.providerID))) throw new ProtocolError('not_found')
    } catch (error) {
      if (error instanceof LastWayIn) throw new ProtocolError('forbidden')
      throw error
    }
    const { userID, deviceID } = ctx.conn.session!
    audit(ctx.log, 'provider.unlinked', { userID, deviceID, providerID: payload.providerID, ip: ctx.conn.address })
    return {}
  },
})
