// One-time codes: generation, the per-destination send limit, the per-account code lock, issuing and tokens.
import { randomBytes, randomInt } from 'node:crypto'
import { hashToken } from '../auth/tokens.ts'
import { ProtocolError } from '../errors.ts'
import type { Context, MessageType } from '../handler.ts'
import { blurEmail, blurMsisdn, type ThirdPID } from '../identifiers.ts'
import type { Rule } from '../rate-limit.ts'
import type { TokenMatch, VerificationPurpose } from '../store/verifications.ts'

export type { VerificationPurpose }

/** Guesses one code allows (ASVS 5.0 6.6.3, OWASP MFA cheat sheet "strict attempt limits"). */
export const maxAttempts = 5
/** Seconds a verificationToken lives: long enough to finish a form, short like the code it replaces. */
export const tokenTtl = 600
/**
 * Consecutive wrong codes against one account before it gets no new codes (NIST 800-63B §5.2.2: at
 * most 100 consecutive failures for a secret under 64 bits) and for how long after the last failure.
 * A right code resets the count; with 5 guesses per 10^6 codes that caps an attacker at P ≤ 10^-4.
 */
export const codeLockFailures = 100
export const codeLockMs = 24 * 60 * 60 * 1000

/** `length` decimal digits from the CSPRNG, uniform (randomInt rejects biased draws), leading zeros kept. */
export function generateCode(length: number): string {
  return randomInt(0, 10 ** length)
    .toString()
    .padStart(length, '0')
}

/** 128 random bits, base64url: names a code, is no secret on its own. */
export function generateVerificationID(): string {
  return randomBytes(16).toString('base64url')
}

/** 256 random bits, base64url; only its SHA-256 is stored. */
export function generateVerificationToken(): string {
  return randomBytes(32).toString('base64url')
}

export function blurThirdPID(thirdPID: ThirdPID): string {
  return thirdPID.type === 'email' ? blurEmail(thirdPID.value) : blurMsisdn(thirdPID.value)
}

/** The rate-limit subject of a destination, e.g. `email:juliet@verona.example`. */
export const destinationSubject = (thirdPID: ThirdPID): string => `${thirdPID.type}:${thirdPID.value}`

/**
 * Who asks for a code: the authenticated account, else the client address (the connection's `ip`).
 * Send budgets and the code a new request replaces are the requester's own, so one requester's requests
 * cannot use up or kill another's (audit issue 11 §6).
 */
export function requesterOf(ctx: Context<MessageType>): string {
  return ctx.conn.session ? `account:${ctx.conn.session.accountID}` : `ip:${ctx.conn.ip}`
}

/**
 * Charges every `destination` rule (the address's total from all requesters) and every
 * `requester_destination` rule (this requester's own budget for the address) for one send, all or none;
 * throws ratelimit_exceed. Returns resendAfter in seconds: how long until every rule would allow this
 * requester's next send (60 s after most sends with the shipped rules; hours after its fifth of the day).
 */
export async function chargeDestination(ctx: Context<MessageType>, thirdPID: ThirdPID): Promise<number> {
  const destination = destinationSubject(thirdPID)
  const own = `${requesterOf(ctx)} ${destination}`
  const charges = Object.entries(ctx.config.ratelimit.rules)
    .filter(([, rule]) => rule.subject === 'destination' || rule.subject === 'requester_destination')
    .map(([name]) => ctx.limiter.rule(name))
    .filter((rule): rule is Rule => rule !== undefined)
    .map((rule) => ({ rule, subject: rule.subject === 'destination' ? destination : own }))
  // Exact across nodes on a shared database: these bound how many codes (guesses at one) an address gets.
  const { wait, next } = await ctx.limiter.takeExact(charges)
  if (wait > 0) throw new ProtocolError('ratelimit_exceed', { retryAfter: wait })
  // Whichever rule binds next: a minute after most sends, hours after the day's last one.
  return Math.ceil(next / 1000)
}

/** ratelimit_exceed while the account's code lock holds (see codeLockFailures). */
export async function requireCodesAllowed(ctx: Context<MessageType>, accountID: string): Promise<void> {
  const failures = await ctx.store.verifications.codeFailures(accountID)
  const until = failures.lastAt + codeLockMs
  const now = ctx.clock.now()
  if (failures.count >= codeLockFailures && now < until) throw new ProtocolError('ratelimit_exceed', { retryAfter: until - now })
}

export interface CodeRequest {
  purpose: VerificationPurpose
  thirdPID: ThirdPID
  /** The account the code will act for; null for signup. */
  accountID: string | null
}

export interface IssuedCode {
  verificationID: string
  expiresIn: number
  resendAfter: number
  destination: string
}

/**
 * Creates a code for the destination and queues its message in the same transaction (an acknowledged
 * request is never lost), replacing this requester's live code for that destination and purpose (another
 * requester's code lives on). The sender is woken only after the commit.
 */
export async function issueCode(ctx: Context<MessageType>, request: CodeRequest): Promise<IssuedCode> {
  if (request.accountID) await requireCodesAllowed(ctx, request.accountID)
  const resendAfter = await chargeDestination(ctx, request.thirdPID)
  const { codeLength, codeTtl } = ctx.config.verification
  const code = generateCode(codeLength)
  const verificationID = generateVerificationID()
  const now = ctx.clock.now()
  await ctx.store.verifications.issueCode(
    { id: verificationID, ...request, requester: requesterOf(ctx), code, attempts: maxAttempts, expiresAt: now + codeTtl * 1000 },
    { channel: request.thirdPID.type, to: request.thirdPID.value, purpose: request.purpose, code },
    now,
  )
  ctx.delivery.wake()
  return { verificationID, expiresIn: codeTtl, resendAfter, destination: blurThirdPID(request.thirdPID) }
}

/** Whether a live token matches, without using it: check before work that a later refusal would waste. */
export async function tokenMatches(ctx: Context<MessageType>, token: string, match: TokenMatch): Promise<boolean> {
  return ctx.store.verifications.hasToken(hashToken(token), match, ctx.clock.now())
}

/** Uses the token (single use: one DELETE decides) or throws invalid_token. */
export async function consumeToken(ctx: Context<MessageType>, token: string, match: TokenMatch): Promise<void> {
  if (!(await ctx.store.verifications.consumeToken(hashToken(token), match, ctx.clock.now()))) throw new ProtocolError('invalid_token')
}
