// One-time codes, the single-use verification tokens they are traded for, and the 3PID changes those
// tokens authorise (codes in verification-codes.ts, tokens in verification-tokens.ts). Each operation is
// one transaction: the token or code that decides is consumed by the same transaction as the change it pays for.
import type { Database } from 'better-sqlite3'
import type { ThirdPID } from '../identifiers.ts'
import type { OutboxStore, OutgoingMessage } from './outbox.ts'
import { createCodeOps } from './verification-codes.ts'
import { createTokenOps } from './verification-tokens.ts'

export type VerificationPurpose = 'signup' | 'login' | 'reset_password' | 'bind' | 'confirm' | 'sudo'

export interface NewCode {
  /** The verificationID handed to the client. */
  id: string
  purpose: VerificationPurpose
  thirdPID: ThirdPID
  /** The account the code acts for (null for signup: there is none yet). */
  accountID: string | null
  /** Who asked ("account:<id>", else "ip:<address>"): a new request replaces only this requester's live code. */
  requester: string
  /** The code in the clear: only its keyed hash is stored, and the message carrying it is sealed. */
  code: string
  attempts: number
  expiresAt: number
}

export type CodeAttempt =
  | { outcome: 'unknown' }
  | { outcome: 'expired' }
  | { outcome: 'wrong'; attemptsLeft: number }
  | { outcome: 'ok'; purpose: VerificationPurpose; thirdPID: ThirdPID; accountID: string | null }

/** What a token must have been issued for. No thirdPID: any 3PID of `accountID` (sudo, login by username). */
export interface TokenMatch {
  purpose: VerificationPurpose
  accountID: string | null
  thirdPID?: ThirdPID
}

export type UnbindOutcome = 'ok' | 'not_found' | 'forbidden'

export interface VerificationStore {
  /**
   * Replaces the requester's live code of this destination and purpose (the old one then fails; other
   * requesters' codes live on) and enqueues its message.
   */
  issueCode(code: NewCode, message: OutgoingMessage, now: number): Promise<void>
  /**
   * Stores a code no answer matches (a random hash, no account, no message) for a request that must not
   * reveal that nobody is there: its verificationID then counts attempts down and expires like a real one.
   */
  issueDecoy(code: Omit<NewCode, 'code' | 'accountID'>, now: number): Promise<void>
  /**
   * Checks `code` against the stored hash in constant time. A right code is deleted and traded for
   * the token in the same transaction (so of concurrent right answers exactly one wins); for `confirm`
   * that transaction also activates the pending account. A wrong one costs an attempt (the code is
   * deleted at 0) and counts against the account's code lock.
   */
  attempt(id: string, code: string, token: { hash: Buffer; expiresAt: number }, now: number): Promise<CodeAttempt>
  /** Whether a live token matches, without using it (so a later refusal does not burn it). */
  hasToken(hash: Buffer, match: TokenMatch, now: number): Promise<boolean>
  /** Uses the token: one DELETE decides, so it serves once. */
  consumeToken(hash: Buffer, match: TokenMatch, now: number): Promise<boolean>
  /**
   * Consumes a `bind` token of `accountID` for `thirdPID` and makes it the account's (verified) 3PID of
   * that type, replacing any other; another account's unverified claim on it is dropped. false: no such
   * token; UniqueViolation: another account holds the 3PID verified (the token is then kept).
   */
  bindThirdPID(tokenHash: Buffer, accountID: string, thirdPID: ThirdPID, now: number): Promise<boolean>
  /** Removes the 3PID unless the account would be left with no way to log in (see unbind's rule). */
  unbindThirdPID(accountID: string, thirdPID: ThirdPID): Promise<UnbindOutcome>
  /** Marks an account's 3PID verified (tests: the shortcut for a code the owner entered; the server proves addresses by codes). */
  markVerified(accountID: string, thirdPID: ThirdPID): Promise<void>
  /** Consecutive wrong codes against the account and the time of the last one. */
  codeFailures(accountID: string): Promise<{ count: number; lastAt: number }>
  /** Forgets expired codes and tokens. */
  prune(now: number): Promise<number>
}

export function createVerificationStore(db: Database, outbox: OutboxStore, secret: Buffer): VerificationStore {
  return verificationStore(createCodeOps(db, outbox, secret), createTokenOps(db))
}

type CodeOps = Pick<VerificationStore, 'issueCode' | 'issueDecoy' | 'attempt' | 'markVerified' | 'codeFailures'>
type TokenOps = Pick<VerificationStore, 'hasToken' | 'consumeToken' | 'bindThirdPID' | 'unbindThirdPID'>
type Prune = { prune(now: number): number | Promise<number> }

/** The store from its two halves, codes and tokens (each engine has its own of both). */
export function verificationStore(codes: CodeOps & Prune, tokens: TokenOps & Prune): VerificationStore {
  return {
    issueCode: codes.issueCode,
    issueDecoy: codes.issueDecoy,
    attempt: codes.attempt,
    markVerified: codes.markVerified,
    codeFailures: codes.codeFailures,
    hasToken: tokens.hasToken,
    consumeToken: tokens.consumeToken,
    bindThirdPID: tokens.bindThirdPID,
    unbindThirdPID: tokens.unbindThirdPID,
    prune: async (now) => (await codes.prune(now)) + (await tokens.prune(now)),
  }
}
