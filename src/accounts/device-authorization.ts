// Device authorization (contract §14, RFC 8628 over the socket): codes, and handing the approved device its token.
import { randomBytes } from 'node:crypto'
import { customAlphabet } from 'nanoid'
import { generateAuthToken, hashToken } from '../auth/tokens.ts'
import { ProtocolError } from '../errors.ts'
import type { Connection, Deps } from '../handler.ts'
import type { LoginPayload } from './devices.ts'

/** RFC 8628 §6.1's consonants: no vowels (no words), none easily confused; 20^8 ≈ 2.6·10^10 codes. */
export const userCodeAlphabet = 'BCDFGHJKLMNPQRSTVWXZ'
export const generateUserCode = customAlphabet(userCodeAlphabet, 8)
const userCodeForm = new RegExp(`^[${userCodeAlphabet}]{8}$`)

/** `XXXX-XXXX`, as shown to the user. */
export const formatUserCode = (code: string): string => `${code.slice(0, 4)}-${code.slice(4)}`

/** The code as stored (upper case, no `-` or spaces), or undefined when it cannot be one: answered invalid_code. */
export function normalizeUserCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[-\s]/g, '')
  return userCodeForm.test(code) ? code : undefined
}

/** 256 random bits, base64url: what a device polls with. */
export const generateDeviceCode = (): string => randomBytes(32).toString('base64url')

/** Every device:authorize_* type answers forbidden while deviceAuthorization.enabled is false. */
export function requireEnabled(config: Deps['config']): void {
  if (!config.deviceAuthorization.enabled) throw new ProtocolError('forbidden', undefined, 'Device authorization is disabled on this server')
}

export type Collected = { outcome: 'ok'; login: LoginPayload } | { outcome: 'gone' } | { outcome: 'refused'; maxDevices?: number }

/**
 * Creates the approved grant's device with a fresh authToken, authenticates `conn` as it and tells the
 * account's other online devices (device:new_login). The token exists only from here to the one message
 * that carries it (the device:authorized event or the poll's reply): nothing is stored but its hash.
 */
export async function collectGrant(deps: Pick<Deps, 'store' | 'clock' | 'config' | 'sessions'>, grantID: string, conn: Connection): Promise<Collected> {
  const authToken = generateAuthToken()
  const now = deps.clock.now()
  const result = await deps.store.deviceAuthorizations.collect(grantID, {
    tokenHash: hashToken(authToken),
    ip: conn.ip,
    now,
    maxDevices: deps.config.limits.maxDevicesPerAccount,
  })
  if (result.outcome !== 'ok') return result
  const account = await deps.store.accounts.byID(result.accountID)
  const userID = account!.userID
  deps.sessions.attach(conn, { accountID: result.accountID, userID, deviceID: result.deviceID, knownAliveAt: now })
  deps.sessions.notifyAccount(result.accountID, 'device:new_login', { deviceID: result.deviceID, deviceName: result.deviceName, at: now }, result.deviceID)
  return { outcome: 'ok', login: { authToken, deviceID: result.deviceID, userID } }
}

/**
 * Settles the connection waiting on a decided grant, on whichever node holds it: approved → the device is
 * collected as that connection (device:authorized; it is signed in); denied, or refused when collected →
 * device:authorize_denied and the usual authentication deadline again. `gone`: polled meanwhile, nothing to send.
 */
export async function settleWaiter(deps: Pick<Deps, 'store' | 'clock' | 'config' | 'sessions'>, grantID: string, conn: Connection, approved: boolean): Promise<Collected | undefined> {
  const collected = approved ? await collectGrant(deps, grantID, conn) : undefined
  if (collected?.outcome === 'ok') conn.sendEvent('device:authorized', collected.login)
  if (!approved || collected?.outcome === 'refused') {
    conn.sendEvent('device:authorize_denied', {})
    conn.setAuthDeadline?.(deps.config.server.authTimeoutMs) // nothing to wait for any more
  }
  return collected
}
