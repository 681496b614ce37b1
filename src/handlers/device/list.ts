/**
 * device:list — the account's devices (sessions), oldest first, with which one is this connection
 * (current) and which have a live authenticated connection (online). No errors besides the global ones.
 */
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:list',
  auth: 'required',
  async handle(ctx) {
    const { accountID, deviceID } = ctx.conn.session!
    const devices = await ctx.store.devices.list(accountID)
    return {
      devices: devices.map((device) => ({
        deviceID: device.id,
        name: device.name,
        createdAt: device.createdAt,
        lastSeenAt: device.lastSeenAt,
        current: device.id === deviceID,
        online: ctx.sessions.isOnline(accountID, device.id),
      })),
    }
  },
})
