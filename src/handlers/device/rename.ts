/**
 * device:rename — rename one of the account's devices (any of them; no sudo: a name is cosmetic).
 * - not_found when the deviceID is not one of this account's devices
 * - auth_required when this connection's own device was revoked while the request was in flight
 */
import { asSession } from '../../accounts/credentials.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:rename',
  auth: 'required',
  async handle(ctx) {
    const session = ctx.conn.session!
    const { deviceID, name } = ctx.payload
    const renamed = await asSession(ctx, session, () => ctx.store.devices.rename(session.accountID, deviceID, name, session.deviceID))
    if (!renamed) throw new ProtocolError('not_found')
    return {}
  },
})
