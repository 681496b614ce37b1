/**
 * device:list — the account's devices (sessions), oldest first, with which one is this connection
 * (current), which have a live authenticated connection (online) and when each expires (expiresAt, null
 * without sessions.idleTimeout and maxAge). A device already past its lifetime is left out (the sweep or
 * its next profile:auth revokes it). No errors besides the global ones.
 */
import { effectiveLastSeen, expiresAt } from '../../accounts/session-lifetime.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:list',
  auth: 'required',
  async handle(ctx) {
    const { accountID, deviceID } = ctx.conn.session!
    const now = ctx.clock.now()
    const devices = await ctx.store.devices.list(accountID)
    const entries = devices.map((device) => {
      const lastSeenAt = effectiveLastSeen(ctx.seen, device)
      return {
        deviceID: device.id,
        name: device.name,
        createdAt: device.createdAt,
        lastSeenAt,
        expiresAt: expiresAt({ createdAt: device.createdAt, lastSeenAt }, ctx.config.sessions),
        current: device.id === deviceID,
        online: ctx.sessions.isOnline(accountID, device.id),
      }
    })
    return { devices: entries.filter((entry) => entry.expiresAt === null || entry.expiresAt >= now) }
  },
})
