/**
 * device:revoke — revoke one of the account's devices; its live connections get profile:session_revoked
 * {reason: "revoked"} and are unauthenticated afterwards.
 * - the current device needs no sudo (it is a logout); this connection then ends unauthenticated
 * - another device needs a sudoToken (purpose revoke_device) → sudo_required
 * - not_found when the deviceID is not one of this account's devices. Checked before sudo: device:list
 *   already shows the account's devices, so nothing leaks, and a mistyped ID does not burn the sudoToken.
 * - auth_required when this connection's own device was revoked while the request was in flight
 */
import { asSession } from '../../accounts/credentials.ts'
import { revokeDevice } from '../../accounts/devices.ts'
import { requireSudo } from '../../accounts/sudo.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:revoke',
  auth: 'required',
  async handle(ctx) {
    const { payload } = ctx
    const session = ctx.conn.session!
    if (payload.deviceID !== session.deviceID) {
      const device = await ctx.store.devices.byID(session.accountID, payload.deviceID)
      if (!device) throw new ProtocolError('not_found')
      await requireSudo(ctx, payload.sudoToken, 'revoke_device')
    }
    // Revoking another device checks, in the delete's transaction, that this one still exists.
    const revoked = await asSession(ctx, session, () => revokeDevice(ctx, session.accountID, payload.deviceID, 'revoked', session.deviceID))
    // Another request may have revoked it between the look-up and here.
    if (!revoked) throw new ProtocolError('not_found')
    return {}
  },
})
