/**
 * profile:register — create an account from a username and/or third-party IDs and a password.
 * - reg_disabled when registration.mode is "closed"
 * - id_exists when the username or a 3PID is taken (enforced by unique indexes, so races lose cleanly)
 * - weak_password (errPayload.reason) by the password policy; invalid_payload for a malformed 3PID
 * - in "verified" mode the account is pending (confirmationRequired) until confirmed
 * - loginOnSuccess logs in at once as a new device (loginPayload)
 */
import { loginAsNewDevice } from '../../accounts/devices.ts'
import { requireStrongPassword } from '../../accounts/passwords.ts'
import { generateAccountID } from '../../auth/tokens.ts'
import { ProtocolError, invalidField } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'
import { formatUserID, normaliseUsername, parseThirdPID, type ThirdPID } from '../../identifiers.ts'
import type { ProfileClaims } from '../../types/schemas.ts'

export default defineHandler({
  type: 'profile:register',
  auth: 'none',
  async handle(ctx) {
    const { payload, config, store, clock } = ctx
    if (config.registration.mode === 'closed') throw new ProtocolError('reg_disabled')

    const username = payload.username === undefined ? null : normaliseUsername(payload.username)
    if (username === null && payload.username !== undefined) throw invalidField('/payload/username', 'is not a valid username')
    const thirdPIDs = normaliseThirdPIDs(payload.thirdPIDs ?? [])
    if (payload.verificationToken !== undefined) throw new ProtocolError('invalid_token')
    if (payload.password === undefined) throw invalidField('/payload/password', 'is required without a verificationToken')
    requireStrongPassword(ctx, payload.password, { username, thirdPIDs })
    // Cheap pre-check so a taken name costs no argon2; the unique index still decides races.
    if (username && (await store.accounts.usernameTaken(username))) throw new ProtocolError('id_exists', { field: 'username' })

    const passwordHash = await ctx.passwords.hash(payload.password)
    const id = generateAccountID()
    const status = config.registration.mode === 'verified' ? 'pending' : 'active'
    const account = await store.accounts.create({
      id,
      username,
      userID: formatUserID(username ?? id, config.server.domains[0]),
      passwordHash,
      status,
      profile: withoutNulls(payload.profile ?? {}),
      thirdPIDs: thirdPIDs.map((t) => ({ ...t, verified: false })),
      now: clock.now(),
    })
    const loginPayload = payload.loginOnSuccess && status === 'active' ? await loginAsNewDevice(ctx, account, payload) : undefined
    return { userID: account.userID, confirmationRequired: status === 'pending', ...(loginPayload && { loginPayload }) }
  },
})

function normaliseThirdPIDs(input: ThirdPID[]): ThirdPID[] {
  const seen = new Set<string>()
  return input.map((raw, index) => {
    const thirdPID = parseThirdPID(raw)
    if (!thirdPID) throw invalidField(`/payload/thirdPIDs/${index}/value`, `is not a valid ${raw.type}`)
    if (seen.has(thirdPID.type)) throw invalidField(`/payload/thirdPIDs/${index}`, `only one ${raw.type} per account`)
    seen.add(thirdPID.type)
    return thirdPID
  })
}

function withoutNulls(claims: ProfileClaims): ProfileClaims {
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== null)) as ProfileClaims
}
