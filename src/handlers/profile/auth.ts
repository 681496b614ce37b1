/**
 * profile:auth — authenticate this connection as an existing device with its authToken (a new socket
 * after a reconnect). Updates the device's lastSeenAt and last IP. invalid_token for an unknown or
 * revoked token, or an account that is no longer active.
 */
import { hashToken } from '../../auth/tokens.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:auth',
  auth: 'none',
  async handle(ctx) {
    const device = await ctx.store.devices.authenticate(hashToken(ctx.payload.authToken), ctx.conn.address, ctx.clock.now())
    const account = device && (await ctx.store.accounts.byID(device.accountID))
    if (!device || account?.status !== 'active') throw new ProtocolError('invalid_token')
    ctx.sessions.attach(ctx.conn, { accountID: account.id, userID: account.userID, deviceID: device.id })
    return { userID: account.userID, deviceID: device.id }
  },
})
