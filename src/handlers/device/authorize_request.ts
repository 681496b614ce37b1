/**
 * device:authorize_request — start signing in a device without a keyboard (contract §14, RFC 8628 §3.2).
 * - answers a user code (XXXX-XXXX, 8 of 20 consonants) to show, a device code to poll with, their life
 *   (deviceAuthorization.ttl) and the poll interval; both codes are stored hashed
 * - this connection waits: device:authorized {authToken, deviceID, userID} when a signed-in device
 *   approves (it is then authenticated as the new device), device:authorize_denied {} when one denies
 * - a new request from the same connection replaces its earlier wait (the earlier codes still poll)
 * - an anonymous waiting connection is kept open until the codes expire, not only server.authTimeoutMs
 * - charged to device_request_ip → ratelimit_exceed; forbidden when deviceAuthorization.enabled is false
 */
import { formatUserCode, generateDeviceCode, generateUserCode, requireEnabled } from '../../accounts/device-authorization.ts'
import { generateSudoToken, hashToken } from '../../auth/tokens.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:authorize_request',
  auth: 'none',
  async handle(ctx) {
    const { config, store, clock } = ctx
    requireEnabled(config)
    const { ttl, interval } = config.deviceAuthorization
    const deviceCode = generateDeviceCode()
    const id = generateSudoToken() // an internal key: 256 random bits, never sent
    const now = clock.now()
    // A user code still stored for another grant is drawn again (stored grants ≪ 2.6·10^10 codes).
    for (;;) {
      const userCode = generateUserCode()
      const grant = { id, userCode, deviceCodeHash: hashToken(deviceCode), deviceName: ctx.payload.deviceName ?? 'unnamed device', now, expiresAt: now + ttl * 1000 }
      if (await store.deviceAuthorizations.create(grant)) {
        ctx.sessions.awaitGrant(ctx.conn, id)
        // The wait outlives server.authTimeoutMs: the socket stays until the code expires (or is denied).
        ctx.conn.setAuthDeadline?.(ttl * 1000)
        return { userCode: formatUserCode(userCode), deviceCode, expiresIn: ttl, interval }
      }
    }
  },
})
