// Account creation shared by profile:register and `hafnium user add`: id, user ID, password hash, insert.
import { generateAccountID } from '../auth/tokens.ts'
import { ProtocolError, invalidField } from '../errors.ts'
import type { Deps } from '../handler.ts'
import { formatUserID, normaliseUsername, parseThirdPID, type ThirdPID } from '../identifiers.ts'
import type { Account, AccountStatus, NewAccount } from '../store/accounts.ts'
import { UniqueViolation } from '../store/errors.ts'
import type { ProfileClaims } from '../types/schemas.ts'

export interface AccountDraft {
  /** Canonical (normalised) username, or null for a raw `@<opaque id>@<domain>` user ID. */
  username: string | null
  /** Canonical 3PIDs (parseThirdPID); stored unverified but for those in `proven`. */
  thirdPIDs: readonly ThirdPID[]
  /** Those of `thirdPIDs` already proven (a signup token; an administrator's word): stored verified by the same insert. */
  proven?: readonly ThirdPID[]
  /** Already checked against the password policy; null creates an account that cannot log in with one yet. */
  password: string | null
  status: AccountStatus
  profile?: ProfileClaims
}

/**
 * Creates the account; id_exists when the username or a verified 3PID is taken (another account's
 * unverified claim on a 3PID is dropped: see AccountStore.create). The user ID's domain is the
 * first served domain. Hashing happens before the insert's transaction (better-sqlite3 transactions
 * cannot span an await).
 */
export async function createAccount(deps: Pick<Deps, 'config' | 'store' | 'passwords' | 'clock'>, draft: AccountDraft): Promise<Account> {
  const { config, store } = deps
  // Cheap pre-check so a taken name costs no argon2; the unique index still decides races.
  if (draft.username && (await store.accounts.usernameTaken(draft.username))) throw new ProtocolError('id_exists', { field: 'username' })
  const passwordHash = draft.password === null ? null : await deps.passwords.hash(draft.password)
  const id = generateAccountID()
  return orIdExists(store.accounts.create({
    id,
    username: draft.username,
    userID: formatUserID(draft.username ?? id, config.server.domains[0]),
    passwordHash,
    status: draft.status,
    profile: draft.profile ?? {},
    thirdPIDs: draft.thirdPIDs.map((t) => ({ ...t, verified: draft.proven?.some((p) => p.type === t.type && p.value === t.value) ?? false })),
    now: deps.clock.now(),
  }))
}

/**
 * An account with no username or password and a raw user ID (a guest; a ticket's or a provider's account):
 * it signs in only the way it was made (or by a code to a proven 3PID it was given).
 */
export function createRawAccount(
  deps: Pick<Deps, 'config' | 'store' | 'clock'>,
  extra: Partial<Pick<NewAccount, 'guest' | 'ticketLink' | 'providerLink' | 'thirdPIDs' | 'profile'>>,
): Promise<Account> {
  const id = generateAccountID()
  return orIdExists(deps.store.accounts.create({
    id,
    username: null,
    userID: formatUserID(id, deps.config.server.domains[0]),
    passwordHash: null,
    status: 'active',
    profile: {},
    thirdPIDs: [],
    now: deps.clock.now(),
    ...extra,
  }))
}

/** A name (username, verified 3PID, ticket or provider link) taken by a concurrent insert: id_exists, as the pre-checks answer. */
export async function orIdExists<T>(write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (error) {
    if (error instanceof UniqueViolation) throw new ProtocolError('id_exists', error.field === 'username' ? { field: 'username' } : undefined)
    throw error
  }
}

/** Registration 3PIDs in canonical form (profile:register, profile:upgrade): invalid_payload for a malformed one or two of a type. */
export function normaliseThirdPIDs(input: ThirdPID[]): ThirdPID[] {
  const seen = new Set<string>()
  return input.map((raw, index) => {
    const thirdPID = parseThirdPID(raw)
    if (!thirdPID) throw invalidField(`/payload/thirdPIDs/${index}/value`, `is not a valid ${raw.type}`)
    if (seen.has(thirdPID.type)) throw invalidField(`/payload/thirdPIDs/${index}`, `only one ${raw.type} per account`)
    seen.add(thirdPID.type)
    return thirdPID
  })
}

/** The names and secret of profile:register and profile:upgrade in canonical form: invalid_payload for a bad username or 3PID, or no password without a token. */
export function registrationFields(payload: { username?: string; thirdPIDs?: ThirdPID[]; password?: string; verificationToken?: string }) {
  const username = payload.username === undefined ? null : normaliseUsername(payload.username)
  if (username === null && payload.username !== undefined) throw invalidField('/payload/username', 'is not a valid username')
  const thirdPIDs = normaliseThirdPIDs(payload.thirdPIDs ?? [])
  const token = payload.verificationToken
  const password = payload.password ?? null
  if (password === null && token === undefined) throw invalidField('/payload/password', 'is required without a verificationToken')
  return { username, thirdPIDs, token, password }
}
