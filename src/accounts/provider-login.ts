// profile:login {providerToken} (contract §15): sign in the account linked to a provider identity, or
// create it where the provider's autoCreate allows. A branch of its own beside password, code and ticket.
import { hashToken } from '../auth/tokens.ts'
import { ProtocolError } from '../errors.ts'
import type { Context } from '../handler.ts'
import { AlreadyUsed, LinkChanged, UniqueViolation } from '../store/errors.ts'
import type { Account, BoundThirdPID } from '../store/accounts.ts'
import type { ProviderIdentity } from '../store/providers.ts'
import { createRawAccount } from './create.ts'
import { loginAsNewDevice, type LoginPayload } from './devices.ts'
import { configuredProvider } from './providers.ts'
import { holdsVerified } from './thirdpids.ts'

/** The identity behind an unused, unexpired providerToken of a provider still configured, or invalid_token. */
export async function providerIdentity(ctx: Pick<Context<'profile:login'>, 'store' | 'clock' | 'config'>, providerToken: string): Promise<ProviderIdentity> {
  const identity = await ctx.store.providers.peekToken(hashToken(providerToken), ctx.clock.now())
  if (!identity || !Object.hasOwn(ctx.config.providers, identity.providerID)) throw new ProtocolError('invalid_token')
  return identity
}

/**
 * Signs in the linked account; an unlinked identity gets a new account (raw user ID, no password) where
 * autoCreate is on and registration is not closed, else not_found. The token is spent after the last
 * refusal, just before the device is created (its credentials epoch re-checked like every login). The
 * device insert re-checks the link too: if it was unbound (or moved) since it was read, the login starts
 * over from the link as it is now — the outcome a login sent just after the unbind would have — with the
 * token it already spent.
 */
export async function loginWithProvider(
  ctx: Context<'profile:login'>,
  providerToken: string,
  options: { deviceName?: string | undefined; pushToken?: string | undefined },
): Promise<LoginPayload> {
  const identity = await providerIdentity(ctx, providerToken)
  const link = { providerID: identity.providerID, sub: identity.sub }
  let spent = false
  const spend = async () => {
    try {
      await ctx.store.providers.consumeToken(hashToken(providerToken), ctx.clock.now())
    } catch (error) {
      if (error instanceof AlreadyUsed) throw new ProtocolError('invalid_token')
      throw error
    }
    spent = true
  }
  for (let attempt = 1; ; attempt++) {
    const account = (await linkedAccount(ctx, identity)) ?? (await createLinked(ctx, identity))
    if (account.status === 'disabled') throw new ProtocolError('user_disabled')
    if (account.status === 'pending') throw new ProtocolError('confirmation_required')
    try {
      return await loginAsNewDevice(ctx, account, options, { stale: 'user_disabled', spend: spent ? undefined : spend, link })
    } catch (error) {
      if (!(error instanceof LinkChanged)) throw error
      // The link changing under every one of a few attempts is a fight, not a race: no account is reliably linked.
      if (attempt === 3) throw new ProtocolError('not_found')
    }
  }
}

async function linkedAccount(ctx: Context<'profile:login'>, identity: ProviderIdentity): Promise<Account | undefined> {
  const accountID = await ctx.store.providers.linkedAccount(identity.providerID, identity.sub)
  return accountID === undefined ? undefined : ctx.store.accounts.byID(accountID)
}

/**
 * The provider's email is bound (proven) only when the provider says email_verified and no account holds it
 * proven: an unverified email, or one another account has, never merges accounts (another account's
 * unproven claim gives way, as it does to a registration). Name and picture start the profile.
 */
async function createLinked(ctx: Context<'profile:login'>, identity: ProviderIdentity): Promise<Account> {
  const provider = configuredProvider(ctx, identity.providerID)
  if (provider.autoCreate === false || ctx.config.registration.mode === 'closed') throw new ProtocolError('not_found')
  const email = identity.emailVerified && identity.email !== null ? { type: 'email' as const, value: identity.email } : null
  const bindEmail = email !== null && !holdsVerified(await ctx.store.accounts.byThirdPID(email), email)
  const create = (withEmail: boolean) =>
    createRawAccount(ctx, {
      providerLink: { providerID: identity.providerID, sub: identity.sub, email: identity.emailVerified ? identity.email : null },
      thirdPIDs: withEmail && email ? [{ ...email, verified: true } satisfies BoundThirdPID] : [],
      profile: { ...(identity.name !== null && { name: identity.name }), ...(identity.picture !== null && { picture: identity.picture }) },
    })
  try {
    return await create(bindEmail)
  } catch (error) {
    if (!(error instanceof UniqueViolation || (error instanceof ProtocolError && error.errID === 'id_exists'))) throw error
    // Two first sign-ins of one identity at once: the link's primary key let one create; use that one.
    const account = await linkedAccount(ctx, identity)
    if (account) return account
    // Someone proved the email meanwhile: create the account without it.
    if (bindEmail) return create(false)
    throw error
  }
}

/**
 * profile:sudo {providerToken}: uses the token if its identity is linked to `accountID`, and returns that
 * identity (for the sudo token's insert to re-check the link); invalid_creds otherwise.
 */
export async function spendLinkedProviderToken(
  ctx: Pick<Context<'profile:sudo'>, 'store' | 'clock' | 'config'>,
  accountID: string,
  providerToken: string,
): Promise<{ providerID: string; sub: string }> {
  const identity = await ctx.store.providers.peekToken(hashToken(providerToken), ctx.clock.now())
  const linked = identity && Object.hasOwn(ctx.config.providers, identity.providerID) ? await ctx.store.providers.linkedAccount(identity.providerID, identity.sub) : undefined
  if (!identity || linked !== accountID) throw new ProtocolError('invalid_creds')
  try {
    await ctx.store.providers.consumeToken(hashToken(providerToken), ctx.clock.now())
  } catch (error) {
    if (error instanceof AlreadyUsed) throw new ProtocolError('invalid_creds')
    throw error
  }
  return { providerID: identity.providerID, sub: identity.sub }
}
