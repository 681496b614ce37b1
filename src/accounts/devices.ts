// Session operations shared by handlers: log in as a new device, revoke devices (store + live sockets).
import { generateAuthToken, hashToken } from '../auth/tokens.ts'
import { audit } from '../audit.ts'
import { ProtocolError, type ErrID } from '../errors.ts'
import { AccountInactive, CredentialsChanged, DeviceLimit, LoginBlocked } from '../store/errors.ts'
import type { Context, MessageType } from '../handler.ts'
import type { RevokeReason } from '../sessions.ts'
import type { Account } from '../store/accounts.ts'

export interface LoginPayload {
  authToken: string
  deviceID: string
  userID: string
}

/**
 * Creates a device and its authToken, authenticates this connection as it, and tells the
 * account's other online devices (device:new_login). The token leaves only in the reply.
 * forbidden {maxDevices} when the account already holds limits.maxDevicesPerAccount devices: nothing is
 * evicted silently; the user revokes one (device:revoke) or resets the password (which revokes all).
 * The insert re-checks, in its transaction, the device count and that the account is still active with
 * the credentials epoch `account` was read with; if not (a password change, reset or deactivation while
 * this login was in flight) it answers `stale` and creates nothing.
 */
export async function loginAsNewDevice(
  ctx: Context<MessageType>,
  account: Account,
  options: { deviceName?: string | undefined; pushToken?: string | undefined },
  { stale, spend, link, settleLoginAt }: {
    /** The answer when the credentials changed meanwhile. */
    stale: ErrID
    /** What the login costs (a single-use token): spent after the last refusal, before the device exists. */
    spend?: (() => Promise<void>) | undefined
    /** A provider login: the identity `account` was found through; LinkChanged (unmapped) if it is no longer linked. */
    link?: { providerID: string; sub: string }
    /** A password login: when its argon2 verification ended; its backoff is settled with the insert (NewDevice.expect). */
    settleLoginAt?: number
  },
): Promise<LoginPayload> {
  const maxDevices = ctx.config.limits.maxDevicesPerAccount
  // The insert's transaction decides the cap; this early look, only when there is something to spend,
  // keeps a single-use token unspent at the cap (a password login skips it: one statement fewer).
  if (spend && (await ctx.store.devices.count(account.id)) >= maxDevices) throw new ProtocolError('forbidden', { maxDevices })
  await spend?.()
  const authToken = generateAuthToken()
  const now = ctx.clock.now()
  let device
  try {
    device = await ctx.store.devices.create({
      accountID: account.id,
      tokenHash: hashToken(authToken),
      name: options.deviceName ?? 'unnamed device',
      pushToken: options.pushToken ?? null,
      ip: ctx.conn.address,
      now,
      expect: { credentialsEpoch: account.credentialsEpoch, maxDevices, ...(link && { link }), ...(settleLoginAt !== undefined && { settleLoginAt }) },
    })
  } catch (error) {
    if (error instanceof CredentialsChanged) throw new ProtocolError(stale)
    if (error instanceof DeviceLimit) throw new ProtocolError('forbidden', { maxDevices: error.max })
    if (error instanceof AccountInactive) throw new ProtocolError(error.status === 'disabled' ? 'user_disabled' : 'confirmation_required')
    if (error instanceof LoginBlocked) throw new ProtocolError('ratelimit_exceed', { retryAfter: Math.max(1, error.until - now) })
    throw error
  }
  ctx.sessions.attach(ctx.conn, { accountID: account.id, userID: account.userID, deviceID: device.id, knownAliveAt: now })
  ctx.sessions.notifyAccount(account.id, 'device:new_login', { deviceID: device.id, deviceName: device.name, at: now }, device.id)
  audit(ctx.log, 'login.succeeded', { userID: account.userID, deviceID: device.id, deviceName: device.name, via: ctx.type, ip: ctx.conn.address })
  return { authToken, deviceID: device.id, userID: account.userID }
}

/** Deletes one device (on behalf of `actorDeviceID`, which must still exist) and cuts its live sockets off. */
export async function revokeDevice(
  ctx: Context<MessageType>,
  accountID: string,
  deviceID: string,
  reason: RevokeReason,
  actorDeviceID?: string,
): Promise<boolean> {
  const by = revoker(ctx) // before: revoking this connection's own device detaches its session
  const revoked = await ctx.store.devices.revoke(accountID, deviceID, actorDeviceID)
  ctx.sessions.revokeDevice(accountID, deviceID, reason)
  if (revoked) audit(ctx.log, 'device.revoked', { accountID, deviceIDs: [deviceID], reason, ...by })
  return revoked
}

/** Deletes every device of the account on behalf of `actorDeviceID` (DeviceGone when it is gone) and cuts their live sockets off. */
export async function revokeAllDevices(ctx: Context<MessageType>, accountID: string, reason: RevokeReason, actorDeviceID: string): Promise<void> {
  const by = revoker(ctx)
  const deviceIDs = await ctx.store.devices.revokeAll(accountID, actorDeviceID)
  ctx.sessions.revokeAccount(accountID, reason)
  if (deviceIDs.length > 0) audit(ctx.log, 'device.revoked', { accountID, deviceIDs, reason, ...by })
}

/** Who asked, for the audit line: the device (and user) the request came from, its address and the request type. */
function revoker(ctx: Context<MessageType>) {
  const session = ctx.conn.session
  return { userID: session?.userID, by: session?.deviceID, via: ctx.type, ip: ctx.conn.address }
}
