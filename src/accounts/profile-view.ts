// How an account is shown as a profile (contract §5 "The profile object"): the owner's view and the public view.
import { formatUserID, normaliseUsername, parseUserID } from '../identifiers.ts'
import type { Account } from '../store/accounts.ts'
import type { Profile, ProfileClaims } from '../types/schemas.ts'
import { withSerialised } from '../serialised.ts'

type Flag = 'email_public' | 'phone_number_public' | 'address_public' | 'gender_public' | 'birthdate_public'

/**
 * Who may see each stored claim: anyone, only the owner, or others only where the flag is true.
 * A Record over every claim, so a claim added to defs.json does not compile until it is placed here
 * (an allow-list: nothing stored reaches another user by default).
 */
const claimVisibility: Record<keyof ProfileClaims, 'public' | 'owner' | Flag> = {
  name: 'public',
  nickname: 'public',
  picture: 'public',
  profile: 'public',
  website: 'public',
  gender: 'gender_public',
  birthdate: 'birthdate_public',
  locale: 'public',
  zoneinfo: 'public',
  address: 'address_public',
  misc: 'owner',
  email_public: 'owner',
  phone_number_public: 'owner',
  address_public: 'owner',
  gender_public: 'owner',
  birthdate_public: 'owner',
}
// Listed once: Object.entries per view was ~9% of the bytes `mixed` traffic allocates (16 pairs per public view).
const claimRules = Object.entries(claimVisibility) as [keyof ProfileClaims, 'public' | 'owner' | Flag][]

/** The profile of `account` as its owner (every field) or anyone else (the public view) sees it. Absent values are left out. */
export function toProfile(account: Account, { owner }: { owner: boolean }): Profile {
  const claims = account.profile
  const visible = (rule: 'public' | 'owner' | Flag) => owner || rule === 'public' || (rule !== 'owner' && claims[rule] === true)
  const view: Record<string, unknown> = { userID: account.userID }
  if (account.username !== null) view.username = account.username
  // The owner alone learns the account is a guest: to others it is just a user ID.
  if (owner && account.guest) view.guest = true
  // Contacts are the account's bound 3PIDs, not claims: one source of truth for login and display.
  const email = account.thirdPIDs.find((t) => t.type === 'email')
  const msisdn = account.thirdPIDs.find((t) => t.type === 'msisdn')
  if (email && visible('email_public')) view.email = email.value
  if (msisdn && visible('phone_number_public')) view.phone_number = msisdn.value
  for (const [key, rule] of claimRules) {
    const value = claims[key]
    if (value !== undefined && value !== null && visible(rule)) view[key] = value
  }
  view.createdAt = account.createdAt
  return view as unknown as Profile
}

/**
 * A cached account's owner view, built and serialised once (own profile:get on a cache hit). Keyed by the
 * account object itself: the read cache replaces the object when its row changes, so a view can only
 * belong to the account as it was read; an account that is not frozen (not from the cache, could still
 * change) gets a fresh view each time. The public view is not kept: nearly every read of another user's
 * profile in the bench's mixed traffic is a cold account, and keeping a view for each made it slower
 * (~49 µs of server CPU a request against ~42-45: a WeakMap entry per cached account for the collector).
 * A kept view and its JSON live as long as their account in the cache but are not counted in its byte
 * bound (cacheBytes.heap): up to ~1.5 × that bound when every cached account's owner reads their profile.
 */
const ownerViews = new WeakMap<Account, Profile>()

/** toProfile(account, { owner: true }), frozen, with its JSON kept for the reply (serialised.ts). */
export function ownerProfile(account: Account): Profile {
  if (!Object.isFrozen(account)) return toProfile(account, { owner: true })
  let view = ownerViews.get(account)
  if (!view) {
    view = Object.freeze(toProfile(account, { owner: true }))
    ownerViews.set(account, withSerialised(view, JSON.stringify(view)))
  }
  return view
}

/**
 * A user ID as stored: the localpart folded like a username (contract §4: usernames are
 * case-insensitive, and user IDs are built from them). A localpart that is not a valid
 * username is left alone; it can only match a raw ID, and those are lowercase already.
 */
export function canonicalUserID(userID: string): string {
  const parts = parseUserID(userID)
  const localpart = parts && normaliseUsername(parts.localpart)
  return parts && localpart ? formatUserID(localpart, parts.domain) : userID
}
