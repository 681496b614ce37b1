// The audit trail: who registered, logged in (from where), failed, revoked what, changed a password — info lines with a stable `event`.
import type { Logger } from 'pino'
import type { Connection, Session } from './handler.ts'

/** Every event name, stable: operators grep and alert on these (README > Operations). */
export const auditEvents = [
  'account.registered',
  'login.succeeded',
  'login.failed',
  'session.resumed',
  'device.revoked',
  'password.changed',
  'account.disabled',
  'provider.linked',
  'provider.unlinked',
  'admin.user.added',
  'admin.user.enabled',
  'admin.user.disabled',
  'admin.user.password_changed',
  'admin.user.deleted',
] as const
export type AuditEvent = (typeof auditEvents)[number]

/** One audit line. Fields are identifiers and addresses only: never a password, token or code. */
export function audit(log: Logger, event: AuditEvent, fields: Record<string, unknown>): void {
  log.info({ event, ...fields }, event)
}

/** The login name tried (username, email or phone), for login.failed; the password is never read here. */
function loginIDOf(payload: Record<string, unknown>): string | undefined {
  for (const key of ['loginID', 'username', 'email', 'phone', 'msisdn']) if (typeof payload[key] === 'string') return payload[key] as string
  return undefined
}

/** Which credential a profile:login used, for login.failed. */
function loginVia(payload: Record<string, unknown>): string {
  if (payload.verificationToken !== undefined) return 'verification_token'
  if (payload.ticket !== undefined) return 'ticket'
  if (payload.providerToken !== undefined) return 'provider_token'
  return 'password'
}

/** The types auditOutcome makes events of: every other request returns at once. */
const auditedTypes = new Set(['profile:login', 'profile:auth', 'profile:register', 'profile:set_password', 'profile:reset_password', 'profile:deactivate'])

/**
 * The router reports each request's outcome here; the few types that make audit events map to them.
 * `before` is the session the request arrived with (a deactivation or logout detaches it).
 */
export function auditOutcome(
  log: Logger,
  type: string,
  payload: Record<string, unknown>,
  conn: Connection,
  before: Session | null,
  outcome: { ok: true; result: unknown } | { ok: false; errID: string },
): void {
  // Nothing built for a request that makes no event, or when the log drops info lines.
  if (!auditedTypes.has(type) || !log.isLevelEnabled('info')) return
  const ip = conn.address // the client's own address, not the rate-limit key (an IPv6 /64)
  const who = before ? { userID: before.userID, deviceID: before.deviceID } : {}
  if (!outcome.ok) {
    if (type === 'profile:login') audit(log, 'login.failed', { reason: outcome.errID, loginID: loginIDOf(payload), via: loginVia(payload), ip })
    else if (type === 'profile:auth') audit(log, 'login.failed', { reason: outcome.errID, via: 'auth_token', ip })
    return
  }
  const result = (outcome.result ?? {}) as Record<string, unknown>
  switch (type) {
    case 'profile:register':
      audit(log, 'account.registered', { userID: result.userID, ip })
      break
    case 'profile:auth':
      audit(log, 'session.resumed', { userID: conn.session?.userID, deviceID: conn.session?.deviceID, ip })
      break
    case 'profile:set_password':
    case 'profile:reset_password':
      audit(log, 'password.changed', { ...who, via: type, ip })
      break
    case 'profile:deactivate':
      audit(log, 'account.disabled', { ...who, by: 'user', ip })
      break
  }
}
