// The errID catalogue (errID → default errText) and the error handlers throw to refuse a request.

export const errors = {
  // Global errors (contract §3)
  malformed_message: 'The message is not a valid envelope',
  unhandled: 'This server does not handle that message type',
  wrong_server: 'This server does not serve that domain',
  invalid_payload: 'The payload does not match the schema of this message type',
  auth_required: 'This message type needs an authenticated connection',
  ratelimit_exceed: 'Too many requests; retry later',
  internal_error: 'Internal server error',
  // Accounts and sessions (contract §5)
  id_exists: 'That identifier is already taken',
  reg_disabled: 'Registration is disabled on this server',
  weak_password: 'That password is too weak',
  invalid_creds: "Username/password isn't valid",
  user_disabled: 'This account is disabled',
  confirmation_required: 'This account must be confirmed before logging in',
  password_not_set: 'This account has no password; log in with a code',
  invalid_token: 'The token is not valid',
  not_found: 'Not found',
  sudo_required: 'This action needs a valid sudoToken',
  forbidden: 'That action is not allowed',
  invalid_code: 'The code is not valid',
  code_expired: 'The code has expired',
  // Device authorization (contract §14, RFC 8628 §3.5)
  authorization_pending: 'The user has not approved or denied this device yet',
  access_denied: 'The user denied this device',
  storage_busy: 'The server is temporarily unable to store data; retry later',
  // Captcha (contract §15)
  captcha_required: 'Too many requests from this address; solve the challenge and repeat the request with captcha',
  captcha_invalid: 'The captcha solution is wrong, expired or already used',
  // Identity providers (contract §15)
  provider_unavailable: 'The identity provider could not be reached; retry later',
} as const

export type ErrID = keyof typeof errors

export type ErrPayload = Record<string, unknown>

/** A refusal a handler throws; the router turns it into `ok: false` with this errID. */
export class ProtocolError extends Error {
  readonly errID: ErrID
  readonly errPayload: ErrPayload | undefined

  constructor(errID: ErrID, errPayload?: ErrPayload, errText?: string) {
    super(errText ?? errors[errID])
    this.name = 'ProtocolError'
    this.errID = errID
    this.errPayload = errPayload
  }
}

/** A check the schema cannot express, reported like a schema error (invalid_payload with errors[]). */
export function invalidField(path: string, message: string): ProtocolError {
  return new ProtocolError('invalid_payload', { errors: [{ path, message }] })
}

/** Close codes the server uses (RFC 6455 §7.4.1). */
export const closeCodes = {
  shutdown: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  tooBig: 1009,
} as const
