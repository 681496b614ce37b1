// Session operations shared by handlers: log in as a new device, revoke devices (store + live sockets).
import { generateAuthToken, hashToken } from '../auth/tokens.ts'
import { ProtocolError } from '../errors.ts'
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
 */
export async function loginAsNewDevice(
  ctx: Context<MessageType>,
  account: Account,
  options: { deviceName?: string | undefined; pushToken?: string | undefined },
  /** What the login costs (a single-use token): spent after the last refusal, before the device exists. */
  spend?: () => Promise<void>,
): Promise<LoginPayload> {
  const maxDevices = ctx.config.limits.maxDevicesPerAccount
  if ((await ctx.store.devices.count(account.id)) >= maxDevices) throw new ProtocolError('forbidden', { maxDevices })
  await spend?.()
  const authToken = generateAuthToken()
  const now = ctx.clock.now()
  const device = await ctx.store.devices.create({
    accountID: account.id,
    tokenHash: hashToken(authToken),
    name: options.deviceName ?? 'unnamed device',
    pushToken: options.pushToken ?? null,
    ip: ctx.conn.ip,
    now,
  })
  ctx.sessions.attach(ctx.conn, { accountID: account.id, userID: account.userID, deviceID: device.id })
  ctx.sessions.notifyAccount(account.id, 'device:new_login', { deviceID: device.id, deviceName: device.name, at: now }, device.id)
  return { authToken, deviceID: device.id, userID: account.userID }
}

/** Deletes one device and cuts its live sockets off. */
export async function revokeDevice(ctx: Context<MessageType>, accountID: string, deviceID: string, reason: RevokeReason): Promise<boolean> {
  const revoked = await ctx.store.devices.revoke(accountID, deviceID)
  ctx.sessions.revokeDevice(accountID, deviceID, reason)
  return revoked
}

/** Deletes every device of the account (but `exceptDeviceID`) and cuts their live sockets off. */
export async function revokeAllDevices(ctx: Context<MessageType>, accountID: string, reason: RevokeReason, exceptDeviceID?: string): Promise<void> {
  await ctx.store.devices.revokeAll(accountID, exceptDeviceID)
  ctx.sessions.revokeAccount(accountID, reason, exceptDeviceID)
}
