/**
 * device:rename — rename one of the account's devices (any of them; no sudo: a name is cosmetic).
 * - not_found when the deviceID is not one of this account's devices
 */
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:rename',
  auth: 'required',
  async handle(ctx) {
    const { accountID } = ctx.conn.session!
    const renamed = await ctx.store.devices.rename(accountID, ctx.payload.deviceID, ctx.payload.name)
    if (!renamed) throw new ProtocolError('not_found')
    return {}
  },
})
