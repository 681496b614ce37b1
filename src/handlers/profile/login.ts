/**
 * profile:login — trade credentials for a new device and its authToken; the connection becomes that device.
 * - unknown user and wrong password both answer invalid_creds after exactly one argon2 evaluation
 * - per-account bucket (login_account) and a growing backoff after consecutive failures → ratelimit_exceed;
 *   the delay comes from the failure count the store returns, and never shortens a block in place. The
 *   block is checked before argon2 and again where the outcome is written (the failure counted, or the
 *   count cleared): a login that a concurrent failure blocked meanwhile answers ratelimit_exceed, whatever
 *   its password, so logins in flight together tell no more than the same logins one after another
 * - status is revealed only to someone holding the password, and only where the block is re-checked (a
 *   disabled or pending account blocked by a concurrent failure answers ratelimit_exceed): user_disabled,
 *   confirmation_required
 * - password_not_set for accounts created without one; with privacy.revealAccounts false that answers
 *   invalid_creds instead, and names that find no account get the same backoff as accounts
 * - the device is created only if the account's credentials epoch and status are still what was read
 *   before argon2 (same transaction): a login in flight when the password changes, is reset or the
 *   account is disabled answers invalid_creds and leaves no device
 * - with a verificationToken (purpose login) instead of a password: invalid_token unless it is this
 *   account's (and this 3PID's); neither the bucket nor the backoff applies, and success clears the backoff;
 *   nor does the per-IP login_ip rule (cost 0): password guesses from the owner's address must not block
 *   a code login (contract §7), which verification_ip and the destination rules already bound
 * - with a ticket (contract §13): invalid_token for any bad ticket (signature, issuer, audience, times, a
 *   used jti), not_found for an unknown (iss, sub) with tickets.autoCreate false, user_disabled
 * - with a providerToken (contract §15): invalid_token for an unknown, used or expired token (or one of a
 *   provider no longer configured), not_found for an unlinked identity where the provider's autoCreate is
 *   false or registration is closed, user_disabled; a new account binds the provider's email only if
 *   email_verified and no account holds it proven (src/accounts/provider-login.ts)
 * - success sends device:new_login to the account's other online devices
 */
import { blockAfter } from '../../accounts/login-backoff.ts'
import { accountBucketPrefix, findByLoginKeyCharging, loginBucket, loginKey } from '../../accounts/lookup.ts'
import { loginAsNewDevice } from '../../accounts/devices.ts'
import { loginWithToken } from '../../accounts/verification-login.ts'
import { loginWithTicket } from '../../accounts/tickets.ts'
import { loginWithProvider } from '../../accounts/provider-login.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'
import type { LoginFailure } from '../../store/account-credentials.ts'

export default defineHandler({
  type: 'profile:login',
  auth: 'none',
  cost: (payload) => (payload.verificationToken === undefined ? 1 : 0),
  async handle(ctx) {
    const { payload, store, clock, config } = ctx
    if (payload.ticket !== undefined) return loginWithTicket(ctx, payload.ticket, payload)
    if (payload.providerToken !== undefined) return loginWithProvider(ctx, payload.providerToken, payload)
    const key = loginKey(payload)
    if (payload.verificationToken !== undefined) return loginWithToken(ctx, key, payload.verificationToken)
    // The account and its login_account charge: one round trip where the bucket is in the database.
    const account = await ctx.limiter.enforceExactOnFind('login_account', { prefix: accountBucketPrefix, otherwise: loginBucket(undefined, key) }, (charge) =>
      findByLoginKeyCharging(store.accounts, key, charge),
    )
    const bucket = loginBucket(account, key)
    const reveal = config.privacy.revealAccounts
    const now = clock.now()
    const blockedUntil = account ? account.loginBlockedUntil : reveal ? 0 : await ctx.nameBackoff.blockedUntil(bucket)
    blocked(blockedUntil, now)

    const { ok, needsRehash } = await ctx.passwords.verify(account?.passwordHash ?? null, payload.password ?? '')
    if (account?.passwordHash === null && reveal) throw new ProtocolError('password_not_set')
    // The block re-checked where the outcome is written: one a concurrent failure set meanwhile withholds it.
    const after = clock.now()
    const policy = config.sessions.loginBackoff
    if (!account || !ok) {
      if (account) blocked(await failureBlock(store.accounts.recordLoginFailure(account.id, after, blockAfter(policy, after))), after)
      else if (!reveal) blocked(await ctx.nameBackoff.recordFailure(bucket, after, policy), after)
      throw new ProtocolError('invalid_creds')
    }
    // Parameters live in the hash; a config change upgrades each account at its next login. Compare-and-swap
    // on the verified hash: a password changed meanwhile is never overwritten by the old one's rehash.
    if (needsRehash && account.status === 'active') await store.accounts.rehashPassword(account.id, account.passwordHash!, await ctx.passwords.hash(payload.password!), now)
    // The backoff is settled where the device is inserted, under the account's lock (one round trip): a block
    // a concurrent wrong password set meanwhile withholds the login — and the account's status (disabled,
    // pending), which is decided there after the block; success clears the failures.
    return loginAsNewDevice(ctx, account, payload, { stale: 'invalid_creds', settleLoginAt: after })
  },
})

/** ratelimit_exceed while password logins are blocked. */
function blocked(blockedUntil: number, now: number): void {
  if (blockedUntil > now) throw new ProtocolError('ratelimit_exceed', { retryAfter: blockedUntil - now })
}

/** The block that kept the failure from being counted, or 0 when it was. */
async function failureBlock(failure: Promise<LoginFailure>): Promise<number> {
  const { counted, blockedUntil } = await failure
  return counted ? 0 : blockedUntil
}
