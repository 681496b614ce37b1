/**
 * device:authorize_deny — refuse a waiting device: its connection (on any node) gets device:authorize_denied {} and a
 * poll with its device code answers access_denied from then on.
 * - userCode as in device:authorize_approve; unknown, expired or already decided → invalid_code
 * - charged to the same rules as approving (device_approve_ip, device_approve_user): an answer tells
 *   whether a code is live, so a deny is a guess too
 */
import { normalizeUserCode, requireEnabled, settleWaiter } from '../../accounts/device-authorization.ts'
import { asSession } from '../../accounts/credentials.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:authorize_deny',
  auth: 'required',
  async handle(ctx) {
    requireEnabled(ctx.config)
    const session = ctx.conn.session!
    const userCode = normalizeUserCode(ctx.payload.userCode)
    if (!userCode) throw new ProtocolError('invalid_code')
    const actor = { accountID: session.accountID, deviceID: session.deviceID }
    const grantID = await asSession(ctx, session, () => ctx.store.deviceAuthorizations.deny(userCode, actor, ctx.clock.now()))
    if (grantID === undefined) throw new ProtocolError('invalid_code')
    const waiter = ctx.sessions.takeWaiter(grantID)
    if (waiter) await settleWaiter(ctx, grantID, waiter, false)
    else ctx.sessions.publishGrantDecided(grantID, false) // the node whose connection waits tells it
    return {}
  },
})
