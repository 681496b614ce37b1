// Custom sign-in tickets (contract §13): an application's backend signs a JWT for its user; the server
// verifies it with jose (no hand-rolled JWT parsing) and signs in the account linked to (iss, sub).
import { ticketIssuers } from '../auth/ticket-keys.ts'
import { ProtocolError } from '../errors.ts'
import type { Context } from '../handler.ts'
import { createRawAccount } from './create.ts'
import { AlreadyUsed, UniqueViolation } from '../store/errors.ts'
import type { Account } from '../store/accounts.ts'
import { loginAsNewDevice, type LoginPayload } from './devices.ts'

/** Seconds of clock difference tolerated between the issuer and this server (exp, iat). */
export const clockSkewSeconds = 30
/** A ticket lives at most this long (exp − iat), so a stolen one is soon useless and its jti row soon gone. */
export const maxTicketLifeSeconds = 600

export interface TicketClaims {
  iss: string
  sub: string
  jti: string
  /** ms */
  expiresAt: number
}

// Loaded at the first ticket: a server that takes none keeps jose out of its heap.
let jose: Promise<typeof import('jose')> | undefined

/**
 * Verifies signature, issuer, audience (a served domain), exp/iat (±30 s) and the claims' shape. The
 * issuer picks the one algorithm accepted (alg "none", or HS256 against an EdDSA issuer's public key,
 * fails: algorithm confusion). Any failure is invalid_token, and nothing about why reaches the client.
 */
export async function verifyTicket(ctx: Pick<Context<'profile:login'>, 'config' | 'clock' | 'log'>, ticket: string): Promise<TicketClaims> {
  const { decodeJwt, errors: joseErrors, jwtVerify } = await (jose ??= import('jose'))
  const invalid = (why: string): never => {
    ctx.log.debug({ why }, 'ticket refused')
    throw new ProtocolError('invalid_token')
  }
  let iss: unknown
  try {
    iss = decodeJwt(ticket).iss // unverified: only to choose the key; the verification below checks it again
  } catch {
    return invalid('not a JWT')
  }
  const issuer = typeof iss === 'string' ? ticketIssuers(ctx.config.tickets).get(iss) : undefined
  if (!issuer) return invalid('unknown issuer')
  let payload
  try {
    ;({ payload } = await jwtVerify(ticket, issuer.key, {
      algorithms: [issuer.alg],
      issuer: issuer.iss,
      audience: [...ctx.config.server.domains],
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      clockTolerance: clockSkewSeconds,
      // With maxTokenAge jose also refuses an iat in the future (beyond the tolerance).
      maxTokenAge: maxTicketLifeSeconds,
      currentDate: new Date(ctx.clock.now()),
    }))
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) return invalid(error.code)
    throw error
  }
  const { sub, jti, exp, iat } = payload
  if (typeof sub !== 'string' || sub.length < 1 || sub.length > 255) return invalid('sub')
  if (typeof jti !== 'string' || jti.length < 1 || jti.length > 255) return invalid('jti')
  if (exp! - iat! > maxTicketLifeSeconds) return invalid('lives too long')
  return { iss: issuer.iss, sub, jti, expiresAt: exp! * 1000 }
}

/**
 * profile:login {ticket}: signs in the account linked to the ticket's (iss, sub), creating it (raw user
 * ID, no password) on the first ticket unless tickets.autoCreate is false (not_found). The jti is spent
 * after the last refusal, in its own atomic insert: of two uses of one ticket exactly one gets a device.
 */
export async function loginWithTicket(
  ctx: Context<'profile:login'>,
  ticket: string,
  options: { deviceName?: string | undefined; pushToken?: string | undefined },
): Promise<LoginPayload> {
  const claims = await verifyTicket(ctx, ticket)
  const account = (await linkedAccount(ctx, claims)) ?? (await createLinked(ctx, claims))
  if (account.status === 'disabled') throw new ProtocolError('user_disabled')
  // A ticket account is active from birth; only a pending account made otherwise and linked could be here.
  if (account.status === 'pending') throw new ProtocolError('confirmation_required')
  const spend = async () => {
    try {
      await ctx.store.tickets.useJti(claims.iss, claims.jti, claims.expiresAt, ctx.clock.now())
    } catch (error) {
      if (error instanceof AlreadyUsed) throw new ProtocolError('invalid_token')
      throw error
    }
  }
  return loginAsNewDevice(ctx, account, options, { stale: 'user_disabled', spend })
}

async function linkedAccount(ctx: Context<'profile:login'>, claims: TicketClaims): Promise<Account | undefined> {
  const accountID = await ctx.store.tickets.linkedAccount(claims.iss, claims.sub)
  return accountID === undefined ? undefined : ctx.store.accounts.byID(accountID)
}

async function createLinked(ctx: Context<'profile:login'>, claims: TicketClaims): Promise<Account> {
  if (!ctx.config.tickets.autoCreate) throw new ProtocolError('not_found')
  try {
    return await createRawAccount(ctx, { ticketLink: { iss: claims.iss, sub: claims.sub } })
  } catch (error) {
    // Two first tickets for one pair at once: the link's primary key let one create; use that one.
    if (!(error instanceof UniqueViolation || (error instanceof ProtocolError && error.errID === 'id_exists'))) throw error
    const account = await linkedAccount(ctx, claims)
    if (!account) throw error
    return account
  }
}
