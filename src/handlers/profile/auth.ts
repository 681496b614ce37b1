/**
 * profile:auth — authenticate this connection as an existing device with its authToken (a new socket
 * after a reconnect). The device counts as seen (batched). invalid_token for an unknown or revoked token,
 * an account that is no longer active, or a device past its lifetime (revoked now, reason expired).
 * With sessions.rotateTokens the reply carries a new authToken and the presented one is retired: it still
 * works for sessions.rotationGraceMs (a retry gets yet another new token), and after that its
 * presentation revokes the device everywhere (reason revoked) as a suspected theft (contract §18).
 */
import { audit } from '../../audit.ts'
import { generateAuthToken, hashToken } from '../../auth/tokens.ts'
import { effectiveLastSeen, expiresAt } from '../../accounts/session-lifetime.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:auth',
  auth: 'none',
  async handle(ctx) {
    const { rotateTokens, rotationGraceMs } = ctx.config.sessions
    const presented = hashToken(ctx.payload.authToken)
    // The device's row once, with its account's status and user ID (one statement): its id, token slot and
    // what its lifetime is judged by.
    // At once where the store can (SQLite): an awaited read cost a promise and a hop on every auth.
    const devices = ctx.store.devices
    const device = devices.byTokenWithAccountNow ? devices.byTokenWithAccountNow(presented) : await devices.byTokenWithAccount(presented)
    if (!device || device.status !== 'active') throw new ProtocolError('invalid_token')
    const deviceID = device.deviceID
    const account = { id: device.accountID, userID: device.userID }

    const now = ctx.clock.now()
    const expiry = expiresAt({ createdAt: device.createdAt, lastSeenAt: effectiveLastSeen(ctx.seen, { id: deviceID, lastSeenAt: device.lastSeenAt }) }, ctx.config.sessions)
    if (expiry !== null && now > expiry) {
      const revoked = await ctx.store.devices.revoke(account.id, deviceID)
      ctx.sessions.revokeDevice(account.id, deviceID, 'expired')
      if (revoked) audit(ctx.log, 'device.revoked', { accountID: account.id, deviceIDs: [deviceID], reason: 'expired', via: ctx.type, ip: ctx.conn.address })
      throw new ProtocolError('invalid_token')
    }

    // Rotation off: a token retired while it was on still gets its grace and its theft check.
    const authToken = rotateTokens ? generateAuthToken() : undefined
    // The commonest case, the current token and no rotation, writes nothing: the read above decided it (a
    // second read of the row here was a third of profile:auth's SQLite time). Everything else compares
    // and swaps in the store's transaction.
    const outcome =
      !authToken && device.slot === 'current' ? 'ok' : await ctx.store.devices.present(deviceID, presented, authToken ? hashToken(authToken) : null, now, rotationGraceMs)
    if (outcome === 'replayed') {
      ctx.log.warn(
        { requestID: ctx.requestID, accountID: account.id, deviceID, address: ctx.conn.address, retiredAt: device.slot === 'previous' ? device.retiredAt : undefined },
        'suspected token theft: a retired authToken was presented after its grace; device revoked',
      )
      ctx.sessions.revokeDevice(account.id, deviceID, 'revoked')
      audit(ctx.log, 'device.revoked', { accountID: account.id, deviceIDs: [deviceID], reason: 'revoked', cause: 'token_replayed', via: ctx.type, ip: ctx.conn.address })
      throw new ProtocolError('invalid_token')
    }
    if (outcome === 'gone') throw new ProtocolError('invalid_token')

    ctx.seen.record(deviceID, ctx.conn.address, now)
    ctx.sessions.attach(ctx.conn, { accountID: account.id, userID: account.userID, deviceID })
    return authToken ? { userID: account.userID, deviceID, authToken } : { userID: account.userID, deviceID }
  },
})
