/**
 * device:set_push_token — set the push token of the current device (replacing any earlier one).
 * No errors besides the global ones (auth_required also when the device was revoked while the request was in flight).
 */
import { asSession } from '../../accounts/credentials.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:set_push_token',
  auth: 'required',
  async handle(ctx) {
    const session = ctx.conn.session!
    await asSession(ctx, session, () => ctx.store.devices.setPushToken(session.accountID, session.deviceID, ctx.payload.pushToken))
    return {}
  },
})
