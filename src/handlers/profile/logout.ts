/**
 * profile:logout — revoke this device's authToken, or with allDevices every device of the account.
 * - every live connection of a revoked device (this one included) gets profile:session_revoked
 *   {deviceID, reason: "logout"} and is unauthenticated afterwards; the reply therefore carries no `to`
 * - no errors besides the global ones: allDevices from a device revoked while the request was in flight
 *   answers auth_required and deletes nothing (the devices logged in since are not its to end)
 */
import { asSession } from '../../accounts/credentials.ts'
import { revokeAllDevices, revokeDevice } from '../../accounts/devices.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:logout',
  auth: 'required',
  async handle(ctx) {
    const session = ctx.conn.session!
    const { accountID, deviceID } = session
    if (ctx.payload.allDevices) await asSession(ctx, session, () => revokeAllDevices(ctx, accountID, 'logout', deviceID))
    else await revokeDevice(ctx, accountID, deviceID, 'logout')
    return {}
  },
})
