// Registration with codes: signup tokens, the confirmation code of a pending account, stale pending accounts.
import { ProtocolError } from '../errors.ts'
import type { Context, Deps, MessageType } from '../handler.ts'
import type { ThirdPID } from '../identifiers.ts'
import type { Account } from '../store/accounts.ts'
import { holdsVerified } from './thirdpids.ts'
import { consumeToken, issueCode, tokenMatches, type IssuedCode } from './verification.ts'

/** Pending accounts created before this instant (ms) have expired (registration.pendingTtl). */
export function pendingCutoff(deps: Pick<Deps, 'config' | 'clock'>): number {
  return deps.clock.now() - deps.config.registration.pendingTtl * 1000
}

/** Deletes expired pending accounts; the server runs it periodically and on registration conflicts. */
export async function purgeStalePending(deps: Pick<Deps, 'config' | 'clock' | 'store'>): Promise<number> {
  return deps.store.accounts.purgePending(pendingCutoff(deps))
}

/** The account, unless it is an expired pending one — then it is purged (with its peers) and undefined. */
export async function unlessStale(ctx: Context<MessageType>, account: Account | undefined): Promise<Account | undefined> {
  if (account?.status !== 'pending' || account.createdAt >= pendingCutoff(ctx)) return account
  await purgeStalePending(ctx)
  return undefined
}

/** Runs `create`; on id_exists, purges expired pending accounts and, if any went, tries once more. */
export async function retryAfterPurge<T>(ctx: Context<MessageType>, create: () => Promise<T>): Promise<T> {
  try {
    return await create()
  } catch (error) {
    if (!(error instanceof ProtocolError && error.errID === 'id_exists') || (await purgeStalePending(ctx)) === 0) throw error
    return create()
  }
}

/**
 * Uses a signup verificationToken for one of the registration's 3PIDs and returns that 3PID. The names
 * are checked first (id_exists) and the token only peeked at until then, so a taken username does not
 * burn it; a registration racing for the same name between the use and the insert still can (rare;
 * the client requests a new code).
 */
export async function useSignupToken(
  ctx: Context<MessageType>,
  token: string,
  names: { username: string | null; thirdPIDs: readonly ThirdPID[] },
): Promise<ThirdPID> {
  const matches = (t: ThirdPID) => ({ purpose: 'signup' as const, accountID: null, thirdPID: t })
  const candidates: ThirdPID[] = []
  for (const t of names.thirdPIDs) if (await tokenMatches(ctx, token, matches(t))) candidates.push(t)
  const thirdPID = candidates[0]
  if (!thirdPID) throw new ProtocolError('invalid_token')
  await retryAfterPurge(ctx, () => requireFree(ctx, names))
  await consumeToken(ctx, token, matches(thirdPID))
  return thirdPID
}

async function requireFree(ctx: Context<MessageType>, names: { username: string | null; thirdPIDs: readonly ThirdPID[] }): Promise<void> {
  if (names.username && (await ctx.store.accounts.usernameTaken(names.username))) throw new ProtocolError('id_exists', { field: 'username' })
  // Only a proven address is taken: an unverified claim gives way to this registration (accounts.create).
  for (const t of names.thirdPIDs) if (holdsVerified(await ctx.store.accounts.byThirdPID(t), t)) throw new ProtocolError('id_exists')
}

/**
 * Sends the confirmation code (purpose confirm) of a pending account to its email, else its phone.
 * It runs right after the account's own transaction rather than inside it (that transaction belongs to
 * the accounts store): a crash or a refusal in between (the destination's send limit) leaves a pending
 * account whose owner asks for the code again with verification:request {purpose: "confirm"} — nothing
 * is lost that cannot be asked for. So a failure here is logged, never turned into a failed registration.
 * Returns what verification:request would have answered (the client needs the verificationID), if sent.
 */
export async function sendConfirmation(ctx: Context<MessageType>, account: Account): Promise<IssuedCode | undefined> {
  const bound = account.thirdPIDs.find((t) => t.type === 'email') ?? account.thirdPIDs[0]
  if (!bound) return undefined
  try {
    return await issueCode(ctx, { purpose: 'confirm', thirdPID: { type: bound.type, value: bound.value }, accountID: account.id })
  } catch (err) {
    ctx.log.warn({ err, accountID: account.id }, 'confirmation code not sent at registration')
    return undefined
  }
}

/** The periodic sweep: expired pending accounts, codes, verification tokens and used ticket IDs. */
export async function sweepExpired(deps: Pick<Deps, 'config' | 'clock' | 'store'>): Promise<void> {
  await purgeStalePending(deps)
  await deps.store.verifications.prune(deps.clock.now())
  await deps.store.tickets.prune(deps.clock.now())
  await deps.store.providers.prune(deps.clock.now())
  // Expired grants are kept one more ttl so a late poll still answers code_expired, not invalid_code.
  await deps.store.deviceAuthorizations.prune(deps.clock.now() - deps.config.deviceAuthorization.ttl * 1000)
  // Captcha expiry is ALTCHA's: seconds on the wall clock, which verifySolution reads itself.
  await deps.store.captcha.prune(Math.floor(Date.now() / 1000))
}
