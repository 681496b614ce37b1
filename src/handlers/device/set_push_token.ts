/**
 * device:set_push_token — set the push token of the current device (replacing any earlier one).
 * No errors besides the global ones.
 */
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:set_push_token',
  auth: 'required',
  async handle(ctx) {
    const { accountID, deviceID } = ctx.conn.session!
    await ctx.store.devices.setPushToken(accountID, deviceID, ctx.payload.pushToken)
    return {}
  },
})
