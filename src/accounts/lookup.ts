// Finds the account a login names: by username, by third-party ID, or by a loginID that may be either.
import { normaliseUsername, parseThirdPID } from '../identifiers.ts'
import type { Account, AccountStore } from '../store/accounts.ts'
import type { ChargeOnFind, TookOnFind } from '../store/rate-buckets.ts'

export interface LoginName {
  username?: string | undefined
  thirdPID?: string | undefined
  loginID?: string | undefined
}

/** The canonical key of the named account ("u:juliet", "email:j@x.org"), or null when the name cannot be valid. */
export function loginKey(name: LoginName): string | null {
  const raw = name.username ?? name.thirdPID ?? name.loginID
  if (raw === undefined) return null
  const asThirdPID = name.thirdPID !== undefined || (name.loginID !== undefined && (raw.includes('@') || raw.trim().startsWith('+')))
  if (asThirdPID) {
    const thirdPID = parseThirdPID(raw)
    return thirdPID && `${thirdPID.type}:${thirdPID.value}`
  }
  const username = normaliseUsername(raw)
  return username && `u:${username}`
}

/** What a login key (loginKey) names, as the store looks it up. */
function nameOfKey(key: string): { username: string } | { thirdPID: { type: 'email' | 'msisdn'; value: string } } {
  const colon = key.indexOf(':')
  const kind = key.slice(0, colon)
  const value = key.slice(colon + 1)
  return kind === 'u' ? { username: value } : { thirdPID: { type: kind as 'email' | 'msisdn', value } }
}

export async function findByLoginKey(accounts: AccountStore, key: string | null): Promise<Account | undefined> {
  if (!key) return undefined
  const name = nameOfKey(key)
  return 'username' in name ? accounts.byUsername(name.username) : accounts.byThirdPID(name.thirdPID)
}

/**
 * findByLoginKey, taking `charge` in the same round trip where the store can (RateLimiter.enforceExactOnFind;
 * on PostgreSQL one statement instead of two for every password login).
 */
export async function findByLoginKeyCharging(
  accounts: AccountStore,
  key: string | null,
  charge: ChargeOnFind | undefined,
): Promise<{ found: Account | undefined; took?: TookOnFind }> {
  if (!key || !charge || !accounts.byLoginNameCharging) return { found: await findByLoginKey(accounts, key) }
  const { account, took } = await accounts.byLoginNameCharging(nameOfKey(key), charge)
  return { found: account, took }
}

/** The login_account bucket of a found account is this and its ID. */
export const accountBucketPrefix = 'account:'

/**
 * The subject of the login_account bucket: the account itself when the name finds one (so guesses
 * split between its username, email and phone share one budget), else the name (so unknown names
 * are throttled alike and the limiter reveals nothing).
 */
export function loginBucket(account: Pick<Account, 'id'> | undefined, key: string | null): string {
  return account ? accountBucketPrefix + account.id : `name:${key ?? 'invalid'}`
}
