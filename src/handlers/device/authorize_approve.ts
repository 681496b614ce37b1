/**
 * device:authorize_approve — approve a waiting device: it becomes a new device of this account.
 * - userCode as shown (case, `-` and spaces ignored); unknown, expired, denied or already used → invalid_code
 * - charged to device_approve_ip and device_approve_user (a wrong guess costs as much as a right one)
 * - when the requesting connection is still open it gets device:authorized at once (no polling) and is
 *   authenticated as the new device — on this node here, on another node through the cluster bus (that
 *   node collects it); otherwise the device is created when device:authorize_poll collects
 * - the device is inserted by the same checked insert as a login: forbidden {maxDevices} at the cap; if this
 *   account's credentials change before the grant is collected, the grant is denied instead
 * - the account's other online devices get device:new_login when the device is created
 * - auth_required when this connection's device was revoked meanwhile; forbidden when the feature is off
 */
import { normalizeUserCode, requireEnabled, settleWaiter } from '../../accounts/device-authorization.ts'
import { asSession } from '../../accounts/credentials.ts'
import { generateDeviceID } from '../../auth/tokens.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'device:authorize_approve',
  auth: 'required',
  async handle(ctx) {
    const { config, store, clock } = ctx
    requireEnabled(config)
    const session = ctx.conn.session!
    const userCode = normalizeUserCode(ctx.payload.userCode)
    if (!userCode) throw new ProtocolError('invalid_code')
    const account = await store.accounts.byID(session.accountID)
    if (!account) throw new ProtocolError('auth_required')
    const maxDevices = config.limits.maxDevicesPerAccount
    // Checked again when the device is inserted; this early look keeps the code usable at the cap.
    if ((await store.devices.count(account.id)) >= maxDevices) throw new ProtocolError('forbidden', { maxDevices })
    const approver = { accountID: account.id, deviceID: session.deviceID, credentialsEpoch: account.credentialsEpoch }
    const deviceID = generateDeviceID() // reserved now so the answer can name it; inserted when collected
    const grant = await asSession(ctx, session, () => store.deviceAuthorizations.approve(userCode, approver, deviceID, clock.now()))
    if (!grant) throw new ProtocolError('invalid_code')

    const waiter = ctx.sessions.takeWaiter(grant.id)
    // Waiting on another node (or nowhere): that node collects it; a device that polls later collects it itself.
    if (!waiter) ctx.sessions.publishGrantDecided(grant.id, true)
    else {
      const collected = await settleWaiter(ctx, grant.id, waiter, true)
      if (collected?.outcome === 'refused') {
        if (collected.maxDevices !== undefined) throw new ProtocolError('forbidden', { maxDevices: collected.maxDevices })
        throw new ProtocolError('auth_required') // this account's credentials changed while approving
      }
    }
    return { deviceID, deviceName: grant.deviceName }
  },
})
