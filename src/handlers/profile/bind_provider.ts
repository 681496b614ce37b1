/**
 * profile:bind_provider 🔒 — link the identity behind a providerToken (provider:grant) to this account,
 * proven by a sudoToken (purpose bind_provider). The provider's email is not bound by this (profile:bind_thirdpid does that).
 * - invalid_token: unknown, used or expired providerToken (or its provider is no longer configured)
 * - id_exists: that identity is linked to an account (another, or this one already), or this account is
 *   already linked to another identity of the same provider (unbind that first); the token stays usable
 * - sudo_required: no valid sudoToken; checked after the refusals above so they do not burn it
 * - the token is used by the same transaction that links it
 */
import { providerIdentity } from '../../accounts/provider-login.ts'
import { requireSudo } from '../../accounts/sudo.ts'
import { hashToken } from '../../auth/tokens.ts'
import { audit } from '../../audit.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'
import { AlreadyUsed, UniqueViolation } from '../../store/errors.ts'

export default defineHandler({
  type: 'profile:bind_provider',
  auth: 'required',
  async handle(ctx) {
    const { payload, store } = ctx
    const { accountID } = ctx.conn.session!
    const identity = await providerIdentity(ctx, payload.providerToken)
    if ((await store.providers.linkedAccount(identity.providerID, identity.sub)) !== undefined) throw new ProtocolError('id_exists')
    if ((await store.providers.links(accountID)).some((l) => l.providerID === identity.providerID)) throw new ProtocolError('id_exists')
    await requireSudo(ctx, payload.sudoToken, 'bind_provider')
    try {
      await store.providers.bind(hashToken(payload.providerToken), accountID, ctx.clock.now())
    } catch (error) {
      if (error instanceof AlreadyUsed) throw new ProtocolError('invalid_token')
      if (error instanceof UniqueViolation) throw new ProtocolError('id_exists')
      throw error
    }
    const { userID, deviceID } = ctx.conn.session!
    audit(ctx.log, 'provider.linked', { userID, deviceID, providerID: identity.providerID, sub: identity.sub, ip: ctx.conn.address })
    return {}
  },
})
