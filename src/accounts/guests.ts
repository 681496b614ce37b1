// Guests (contract §12): an account with no username, 3PID or password, its upgrade to a full account,
// and the expiry of idle guests.
import { ProtocolError, invalidField } from '../errors.ts'
import type { Context, Deps } from '../handler.ts'
import { NotGuest, UniqueViolation } from '../store/errors.ts'
import type { Config } from '../types/schemas.ts'
import { asSession } from './credentials.ts'
import { createRawAccount, registrationFields } from './create.ts'
import { loginAsNewDevice, type LoginPayload } from './devices.ts'
import { requireStrongPassword } from './passwords.ts'
import { retryAfterPurge, useSignupToken } from './verification-signup.ts'

/** Guests are on with registration.guests, unless registration is closed altogether. */
export function guestsEnabled(config: Pick<Config, 'registration'>): boolean {
  return config.registration.guests && config.registration.mode !== 'closed'
}

/** profile:guest: a new guest account, signed in on this connection as its first device. */
export async function signInAsGuest(ctx: Context<'profile:guest'>): Promise<LoginPayload & { guest: true }> {
  if (!guestsEnabled(ctx.config)) throw new ProtocolError('reg_disabled')
  const account = await createRawAccount(ctx, { guest: true })
  // user_disabled: only an admin disabling the fresh account in between could make the login stale.
  const login = await loginAsNewDevice(ctx, account, { deviceName: ctx.payload.deviceName }, { stale: 'user_disabled' })
  return { ...login, guest: true }
}

/**
 * profile:upgrade: the guest account of this session gets names, a password (or a proven 3PID) and
 * claims, and stops being a guest; its user ID, devices and tokens stay, so nothing about any of its
 * connections changes. As profile:register: weak_password, id_exists, invalid_token (a signup token that
 * proves none of the 3PIDs); in "verified" mode a signup verificationToken is required (there is no
 * pending state for an account already in use); reg_disabled when registration is closed.
 */
export async function upgradeGuest(ctx: Context<'profile:upgrade'>): Promise<{ userID: string }> {
  const { payload, config, store } = ctx
  const session = ctx.conn.session!
  const account = await store.accounts.byID(session.accountID)
  if (!account?.guest) throw new ProtocolError('forbidden')
  if (config.registration.mode === 'closed') throw new ProtocolError('reg_disabled')

  const { username, thirdPIDs, token, password } = registrationFields(payload)
  if (token === undefined && config.registration.mode === 'verified') {
    throw invalidField('/payload/verificationToken', 'is required: registration is verified (a signup token for one of the thirdPIDs)')
  }
  if (password !== null) requireStrongPassword(ctx, password, { username, thirdPIDs })
  // Cheap pre-check so a taken name costs no argon2 (and burns no token); the unique index still decides races.
  if (username && (await store.accounts.usernameTaken(username))) throw new ProtocolError('id_exists', { field: 'username' })
  const proven = token === undefined ? null : await useSignupToken(ctx, token, { username, thirdPIDs })
  const passwordHash = password === null ? null : await ctx.passwords.hash(password)

  const upgrade = {
    accountID: account.id,
    actorDeviceID: session.deviceID,
    username,
    thirdPIDs: thirdPIDs.map((t) => ({ ...t, verified: proven !== null && t.type === proven.type && t.value === proven.value })),
    passwordHash,
    profile: payload.profile ?? {},
    now: ctx.clock.now(),
  }
  await retryAfterPurge(ctx, () =>
    asSession(ctx, session, async () => {
      try {
        await store.accounts.upgradeGuest(upgrade)
      } catch (error) {
        if (error instanceof NotGuest) throw new ProtocolError('forbidden')
        if (error instanceof UniqueViolation) throw new ProtocolError('id_exists', error.field === 'username' ? { field: 'username' } : undefined)
        throw error
      }
    }),
  )
  if (payload.deviceName !== undefined) await asSession(ctx, session, () => store.devices.rename(account.id, session.deviceID, payload.deviceName!, session.deviceID))
  return { userID: account.userID }
}

/**
 * The periodic sweep of guests idle for registration.guestTtl: a guest created before the cutoff none
 * of whose devices has logged in or authenticated since is deleted with its devices, and its live
 * sockets get profile:session_revoked {reason: "expired"}. Returns how many went.
 */
export async function sweepIdleGuests(deps: Pick<Deps, 'config' | 'clock' | 'store' | 'sessions'>): Promise<number> {
  const cutoff = deps.clock.now() - deps.config.registration.guestTtl * 1000
  const gone = await deps.store.accounts.purgeIdleGuests(cutoff)
  for (const accountID of gone) deps.sessions.revokeAccount(accountID, 'expired')
  return gone.length
}
