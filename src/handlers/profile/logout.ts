/**
 * profile:logout — revoke this device's authToken, or with allDevices every device of the account.
 * - every live connection of a revoked device (this one included) gets profile:session_revoked
 *   {deviceID, reason: "logout"} and is unauthenticated afterwards; the reply therefore carries no `to`
 * - no errors besides the global ones
 */
import { revokeAllDevices, revokeDevice } from '../../accounts/devices.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:logout',
  auth: 'required',
  async handle(ctx) {
    const { accountID, deviceID } = ctx.conn.session!
    if (ctx.payload.allDevices) await revokeAllDevices(ctx, accountID, 'logout')
    else await revokeDevice(ctx, accountID, deviceID, 'logout')
    return {}
  },
})
