/**
 * device:authorize_poll — for a device that lost the socket it requested on: where its authorization
 * stands, and once approved its session (RFC 8628 §3.4–3.5).
 * - authorization_pending until a signed-in device decides; access_denied once denied (or when the
 *   approver's credentials changed before collection); code_expired after expiresIn or once collected
 * - approved: → {authToken, deviceID, userID}, once; this connection is then authenticated as the new
 *   device, and the account's other online devices get device:new_login
 * - polling sooner than `interval` seconds after the previous poll of the same code → ratelimit_exceed
 *   {retryAfter} (RFC 8628's slow_down; the poll is not counted)
 * - an unknown device code → invalid_code
 */
import { collectGrant, requireEnabled } from '../../accounts/device-authorization.ts'
import { hashToken } from '../../auth/tokens.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:authorize_poll',
  auth: 'none',
  async handle(ctx) {
    const { config, store, clock } = ctx
    requireEnabled(config)
    const polled = await store.deviceAuthorizations.poll(hashToken(ctx.payload.deviceCode), clock.now(), config.deviceAuthorization.interval * 1000)
    switch (polled.outcome) {
      case 'unknown':
        throw new ProtocolError('invalid_code')
      case 'too_soon':
        throw new ProtocolError('ratelimit_exceed', { retryAfter: polled.retryAfter })
      case 'pending':
        throw new ProtocolError('authorization_pending')
      case 'denied':
        throw new ProtocolError('access_denied')
      case 'expired':
        throw new ProtocolError('code_expired')
    }
    // The requesting socket may be collecting at this very moment: the store hands the grant out once.
    ctx.sessions.takeWaiter(polled.id)
    const collected = await collectGrant(ctx, polled.id, ctx.conn)
    if (collected.outcome === 'ok') return collected.login
    throw new ProtocolError(collected.outcome === 'refused' ? 'access_denied' : 'code_expired')
  },
})
