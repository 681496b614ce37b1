// Answers that do not reveal whether an account exists (privacy.revealAccounts false): a code request
// for an account or address that is not there gets a reply shaped like a real one, and nothing is sent.
import { createHmac, hkdfSync } from 'node:crypto'
import type { Context, MessageType } from '../handler.ts'
import { blurThirdPID, chargeDestination, generateVerificationID, maxAttempts, requesterOf, type IssuedCode } from './verification.ts'
import type { ThirdPID } from '../identifiers.ts'
import { loadOutboxKey } from '../store/outbox-key.ts'
import type { Store } from '../store/index.ts'
import type { VerificationPurpose } from '../store/verifications.ts'

/** Where the decoy reply of a code request says the code went. */
export type DecoyDestination = { thirdPID: ThirdPID } | { username: string; channel: ThirdPID['type'] }

/**
 * The reply a real request would give (fresh verificationID, codeTtl, resendAfter from the same
 * destination rules, so a repeat within the minute is refused alike), and a stored code that no answer
 * matches, so guesses at the verificationID count down 4, 3, … and expire like a real code's. Nothing is
 * sent. Timing: the lookup that found nothing already ran; one read stands in for the code-lock check
 * and the decoy's write transaction for the real one (which also enqueues the sealed message).
 */
export async function decoyCode(ctx: Context<MessageType>, to: DecoyDestination, purpose: VerificationPurpose): Promise<IssuedCode> {
  // A username has no address to file the decoy under: "~name" cannot be an email address or a number.
  const thirdPID = 'thirdPID' in to ? to.thirdPID : { type: to.channel, value: `~${to.username}` }
  await ctx.store.verifications.codeFailures('~')
  const resendAfter = await chargeDestination(ctx, thirdPID)
  const verificationID = generateVerificationID()
  const { codeTtl } = ctx.config.verification
  const now = ctx.clock.now()
  const decoy = { id: verificationID, purpose, thirdPID, requester: requesterOf(ctx), attempts: maxAttempts, expiresAt: now + codeTtl * 1000 }
  await ctx.store.verifications.issueDecoy(decoy, now)
  const destination = 'thirdPID' in to ? blurThirdPID(to.thirdPID) : decoyBlur(ctx.store, ctx.config.database.path, to.username, to.channel)
  return { verificationID, expiresIn: codeTtl, resendAfter, destination }
}

const secrets = new WeakMap<Store, Buffer>()
const letters = 'abcdefghijklmnopqrstuvwxyz'
// Weighted roughly like real addresses: mostly .com.
const topLevel = ['.com', '.com', '.com', '.com', '.com', '.com', '.net', '.org', '.de', '.fr', '.uk', '.io', '.es', '.it', '.nl', '.ru']

/**
 * A blurred address for a username that has none: the same every time for that username and channel
 * (a real one does not change between requests), from a key derived from the outbox key, so it also
 * survives restarts and cannot be predicted by a client.
 */
function decoyBlur(store: Store, dbPath: string, username: string, channel: ThirdPID['type']): string {
  let secret = secrets.get(store)
  if (!secret) {
    secret = Buffer.from(hkdfSync('sha256', loadOutboxKey(dbPath), '', 'hafnium decoy destinations', 32))
    secrets.set(store, secret)
  }
  const bytes = createHmac('sha256', secret).update(`${channel}:${username}`).digest()
  if (channel === 'email') {
    const shown = letters[bytes[0]! % 26]! + letters[bytes[1]! % 26]!
    return `${shown}*****@*****${topLevel[bytes[2]! % topLevel.length]}`
  }
  // E.164 numbers of 11 to 13 characters ('+' and 10–12 digits) are the common lengths.
  const length = 11 + (bytes[3]! % 3)
  return '*'.repeat(length - 2) + String(bytes[4]! % 10) + String(bytes[5]! % 10)
}
