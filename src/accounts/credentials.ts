// Credential changes shared by the handlers and the admin CLI: a password change or reset, deactivation or
// disable. Each is one store transaction that bumps the account's credentials epoch (so a login already
// past argon2 cannot finish: it re-checks the epoch when it creates its device), deletes the devices and
// every sudo token, and only then cuts the live sockets off.
import type { Logger } from 'pino'
import { audit } from '../audit.ts'
import type { PasswordHasher } from '../auth/passwords.ts'
import { ProtocolError } from '../errors.ts'
import type { Connection, Session } from '../handler.ts'
import type { Clock } from '../rate-limit.ts'
import type { RevokeReason, Sessions } from '../sessions.ts'
import { DeviceGone } from '../store/errors.ts'
import type { Store } from '../store/index.ts'

export interface CredentialDeps {
  store: Store
  clock: Clock
  /** The live-socket registry; the admin CLI, in another process, has none to reach (see its help). */
  sessions: Pick<Sessions, 'revokeAccount' | 'revokeDevice'>
  /** For the device.revoked audit line. */
  log: Logger
  /** The request asking (a handler's context): who revoked, for the audit line; absent: the admin CLI. */
  conn?: Connection
  type?: string
}

export interface PasswordChange {
  accountID: string
  /** Already checked against the password policy. */
  newPassword: string
  /** The session asking, which keeps its device; absent (a reset, the CLI): every device goes. */
  actor?: Pick<Session, 'deviceID'>
  /** Compare-and-swap: applies only while this is still the stored hash (the one just verified). */
  expectHash?: string | null
  /** Forget the login backoff too (a reset, the CLI: whoever sets it now knows the password). */
  clearFailures?: boolean
  /** Drop the account's unverified 3PIDs too (a reset: see CredentialChange.dropUnverified). */
  dropUnverified?: boolean
}

/**
 * Hashes the new password (before the transaction: argon2 is async), then sets it. Returns how many
 * devices were deleted. Throws the store's DeviceGone / CredentialsChanged for the caller to map.
 */
export async function changePassword(deps: CredentialDeps & { passwords: PasswordHasher }, change: PasswordChange): Promise<number> {
  const { newPassword, ...rest } = change
  return setPasswordHash(deps, { ...rest, passwordHash: await deps.passwords.hash(newPassword) })
}

/** changePassword with the hash already made (a caller that must hash before it spends a token). */
export async function setPasswordHash(deps: CredentialDeps, change: Omit<PasswordChange, 'newPassword'> & { passwordHash: string }): Promise<number> {
  const by = revoker(deps)
  const revoked = await deps.store.accounts.changeCredentials({
    accountID: change.accountID,
    passwordHash: change.passwordHash,
    ...(change.expectHash !== undefined && { expectHash: change.expectHash }),
    ...(change.actor && { actor: { deviceID: change.actor.deviceID, keepActor: true } }),
    clearFailures: change.clearFailures ?? false,
    dropUnverified: change.dropUnverified ?? false,
    now: deps.clock.now(),
  })
  deps.sessions.revokeAccount(change.accountID, 'password_changed', change.actor?.deviceID)
  auditRevoked(deps, change.accountID, revoked, 'password_changed', by)
  return revoked.length
}

/**
 * Disables the account and deletes every device, the actor's included (profile:deactivate, `hafnium
 * user disable`). Returns how many devices were deleted.
 */
export async function disableAccount(deps: CredentialDeps, accountID: string, actor?: Pick<Session, 'deviceID'>): Promise<number> {
  const by = revoker(deps) // before: deactivating detaches this connection's session
  const revoked = await deps.store.accounts.changeCredentials({
    accountID,
    status: 'disabled',
    ...(actor && { actor: { deviceID: actor.deviceID, keepActor: false } }),
    now: deps.clock.now(),
  })
  deps.sessions.revokeAccount(accountID, 'deactivated')
  auditRevoked(deps, accountID, revoked, 'deactivated', by)
  return revoked.length
}

/** Who asked, as accounts/devices.ts writes it: the request's user, device, type and address, or the admin CLI. */
function revoker(deps: CredentialDeps): Record<string, unknown> {
  if (!deps.conn) return { by: 'admin-cli' }
  return { userID: deps.conn.session?.userID, by: deps.conn.session?.deviceID, via: deps.type, ip: deps.conn.address }
}

function auditRevoked(deps: CredentialDeps, accountID: string, deviceIDs: string[], reason: RevokeReason, by: Record<string, unknown>) {
  if (deviceIDs.length > 0) audit(deps.log, 'device.revoked', { accountID, deviceIDs, reason, ...by })
}

/**
 * Runs a write made on behalf of `session`. When the store finds the session's device gone (revoked while
 * the request was in flight, or by the admin CLI from another process), the request answers as if it had
 * come unauthenticated — auth_required — and this server's sockets of that device are cut off too.
 */
export async function asSession<T>(deps: { sessions: Pick<Sessions, 'revokeDevice'> }, session: Session, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (error) {
    if (!(error instanceof DeviceGone)) throw error
    deps.sessions.revokeDevice(session.accountID, session.deviceID, revokedReason)
    throw new ProtocolError('auth_required')
  }
}

const revokedReason: RevokeReason = 'revoked'
