/**
 * profile:register — create an account from a username and/or third-party IDs and a password.
 * - reg_disabled when registration.mode is "closed"
 * - id_exists when the username or a verified 3PID is taken (enforced by unique indexes, so races lose
 *   cleanly); another account's unverified claim on a 3PID is dropped (an unproven address reserves nothing)
 * - weak_password (errPayload.reason) by the password policy; invalid_payload for a malformed 3PID
 * - in "verified" mode the account is pending (confirmationRequired) and a confirmation code goes to
 *   its 3PID (one is required there; `confirmation` carries its verificationID)
 * - with a signup verificationToken for one of its 3PIDs the account is active at once in any mode,
 *   that 3PID verified, and the password optional; invalid_token for any other token; the other 3PIDs
 *   stay unverified (they reserve nothing and receive no login or reset code until proven)
 * - a conflict with an expired pending account purges it and tries again
 * - loginOnSuccess logs in at once as a new device (loginPayload)
 */
import { createAccount, registrationFields } from '../../accounts/create.ts'
import { loginAsNewDevice } from '../../accounts/devices.ts'
import { requireStrongPassword } from '../../accounts/passwords.ts'
import { retryAfterPurge, sendConfirmation, useSignupToken } from '../../accounts/verification-signup.ts'
import { ProtocolError, invalidField } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'
import type { ProfileClaims } from '../../types/schemas.ts'

export default defineHandler({
  type: 'profile:register',
  auth: 'none',
  async handle(ctx) {
    const { payload, config } = ctx
    if (config.registration.mode === 'closed') throw new ProtocolError('reg_disabled')

    const { username, thirdPIDs, token, password } = registrationFields(payload)
    if (password !== null) requireStrongPassword(ctx, password, { username, thirdPIDs })
    const confirmByCode = token === undefined && config.registration.mode === 'verified'
    if (confirmByCode && thirdPIDs.length === 0) throw invalidField('/payload/thirdPIDs', 'is required: the confirmation code is sent to one')
    // A signup token proves one of the 3PIDs, so the account is active at once whatever the mode.
    const proven = token === undefined ? null : await useSignupToken(ctx, token, { username, thirdPIDs })

    const status = confirmByCode ? 'pending' : 'active'
    const profile = withoutNulls(payload.profile ?? {})
    const account = await retryAfterPurge(ctx, () => createAccount(ctx, { username, thirdPIDs, proven: proven ? [proven] : [], password, status, profile }))
    const confirmation = status === 'pending' ? await sendConfirmation(ctx, account) : undefined
    // user_disabled: only an admin disabling the fresh account in between could make the login stale.
    const loginPayload = payload.loginOnSuccess && status === 'active' ? await loginAsNewDevice(ctx, account, payload, { stale: 'user_disabled' }) : undefined
    return { userID: account.userID, confirmationRequired: status === 'pending', ...(confirmation && { confirmation }), ...(loginPayload && { loginPayload }) }
  },
})

function withoutNulls(claims: ProfileClaims): ProfileClaims {
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== null)) as ProfileClaims
}
