// One-time codes, the single-use verification tokens they are traded for, and the 3PID changes those
// tokens authorise. Each operation is one transaction: the token or code that decides is consumed by
// the same transaction as the change it pays for.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Database } from 'better-sqlite3'
import type { ThirdPID } from '../identifiers.ts'
import { uniqueOrIdExists } from './accounts.ts'
import type { OutboxStore, OutgoingMessage } from './outbox.ts'

export type VerificationPurpose = 'signup' | 'login' | 'reset_password' | 'bind' | 'confirm' | 'sudo'

export interface NewCode {
  /** The verificationID handed to the client. */
  id: string
  purpose: VerificationPurpose
  thirdPID: ThirdPID
  /** The account the code acts for (null for signup: there is none yet). */
  accountID: string | null
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
  /** Replaces the live code of this destination and purpose (the old one then fails) and enqueues its message. */
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
   * that type, replacing any other. false: no such token; id_exists: another account holds the 3PID
   * (the token is then kept).
   */
  bindThirdPID(tokenHash: Buffer, accountID: string, thirdPID: ThirdPID, now: number): Promise<boolean>
  /** Removes the 3PID unless the account would be left with no way to log in (see unbind's rule). */
  unbindThirdPID(accountID: string, thirdPID: ThirdPID): Promise<UnbindOutcome>
  /** Marks an account's 3PID verified (after a signup token proved it). */
  markVerified(accountID: string, thirdPID: ThirdPID): Promise<void>
  /** Consecutive wrong codes against the account and the time of the last one. */
  codeFailures(accountID: string): Promise<{ count: number; lastAt: number }>
  /** Forgets expired codes and tokens. */
  prune(now: number): Promise<number>
}

interface CodeRow {
  purpose: VerificationPurpose
  medium: ThirdPID['type']
  address: string
  account_id: string | null
  code_hash: Buffer
  attempts_left: number
  expires_at: number
}

/**
 * Codes are stored as HMAC-SHA256(key, verificationID ":" code). A plain or merely salted hash of a
 * 6-digit code falls to 10^6 guesses offline; the key (derived from the outbox key, which lives outside
 * the database file — HAFNIUM_OUTBOX_KEY or `<db>.key`) means the database file alone gives no code away.
 * HKDF keeps the sealing key and this one separate (one key, one purpose).
 */
export function createVerificationStore(db: Database, outbox: OutboxStore, secret: Buffer): VerificationStore {
  const codeKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'hafnium verification codes', 32))
  const hashCode = (id: string, code: string) => createHmac('sha256', codeKey).update(`${id}:${code}`).digest()
  const deleteLive = db.prepare('DELETE FROM verification_codes WHERE medium = ? AND address = ? AND purpose = ?')
  const insertCode = db.prepare(
    `INSERT INTO verification_codes (id, purpose, medium, address, account_id, code_hash, attempts_left, expires_at, created_at)
     VALUES (@id, @purpose, @medium, @address, @accountID, @codeHash, @attempts, @expiresAt, @now)`,
  )
  const selectCode = db.prepare<[string], CodeRow>('SELECT * FROM verification_codes WHERE id = ?')
  const deleteCode = db.prepare('DELETE FROM verification_codes WHERE id = ?')
  const spendAttempt = db.prepare<[string], { attempts_left: number }>(
    'UPDATE verification_codes SET attempts_left = attempts_left - 1 WHERE id = ? AND attempts_left > 0 RETURNING attempts_left',
  )
  const countFailure = db.prepare('UPDATE accounts SET failed_codes = failed_codes + 1, failed_code_at = ? WHERE id = ?')
  const clearFailures = db.prepare('UPDATE accounts SET failed_codes = 0 WHERE id = ? AND failed_codes > 0')
  const selectFailures = db.prepare<[string], { count: number; lastAt: number }>(
    'SELECT failed_codes AS count, failed_code_at AS lastAt FROM accounts WHERE id = ?',
  )
  const insertToken = db.prepare(
    'INSERT INTO verification_tokens (token_hash, purpose, medium, address, account_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
  )
  const tokenWhere = `token_hash = @hash AND purpose = @purpose AND expires_at > @now AND account_id IS @accountID
     AND (@medium IS NULL OR (medium = @medium AND address = @address))`
  const findToken = db.prepare(`SELECT 1 FROM verification_tokens WHERE ${tokenWhere}`)
  const deleteToken = db.prepare(`DELETE FROM verification_tokens WHERE ${tokenWhere}`)
  const verifyThirdPID = db.prepare('UPDATE thirdpids SET verified = 1 WHERE medium = ? AND address = ? AND account_id = ?')
  const activate = db.prepare("UPDATE accounts SET status = 'active', updated_at = ? WHERE id = ? AND status = 'pending'")
  const deleteMedium = db.prepare<[string, string], { address: string }>('DELETE FROM thirdpids WHERE account_id = ? AND medium = ? RETURNING address')
  const insertThirdPID = db.prepare('INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES (?, ?, ?, 1, ?)')
  const deleteThirdPID = db.prepare('DELETE FROM thirdpids WHERE account_id = ? AND medium = ? AND address = ?')
  const otherThirdPIDs = db.prepare<[string, string], { n: number }>(
    'SELECT count(*) AS n FROM thirdpids WHERE account_id = ? AND medium <> ?',
  )
  const selectLoginable = db.prepare<[string], { named: number }>(
    'SELECT (password_hash IS NOT NULL AND username IS NOT NULL) AS named FROM accounts WHERE id = ?',
  )
  const dropCodesFor = db.prepare('DELETE FROM verification_codes WHERE account_id = ? AND medium = ? AND address = ?')
  const dropTokensFor = db.prepare('DELETE FROM verification_tokens WHERE account_id = ? AND medium = ? AND address = ?')
  const pruneCodes = db.prepare('DELETE FROM verification_codes WHERE expires_at <= ?')
  const pruneTokens = db.prepare('DELETE FROM verification_tokens WHERE expires_at <= ?')

  const tokenParams = (hash: Buffer, match: TokenMatch, now: number) => ({
    hash,
    purpose: match.purpose,
    accountID: match.accountID,
    medium: match.thirdPID?.type ?? null,
    address: match.thirdPID?.value ?? null,
    now,
  })

  const replaceLive = (code: Omit<NewCode, 'code'>, codeHash: Buffer, now: number) => {
    deleteLive.run(code.thirdPID.type, code.thirdPID.value, code.purpose)
    const { id, purpose, accountID, attempts, expiresAt } = code
    insertCode.run({ id, purpose, medium: code.thirdPID.type, address: code.thirdPID.value, accountID, codeHash, attempts, expiresAt, now })
  }
  const issue = db.transaction((code: NewCode, message: OutgoingMessage, now: number) => {
    replaceLive(code, hashCode(code.id, code.code), now)
    outbox.enqueue(message, now)
  })
  // 32 random bytes equal an HMAC of some code with probability 2^-256: no guess is ever right.
  const issueDecoy = db.transaction((code: Omit<NewCode, 'code' | 'accountID'>, now: number) => replaceLive({ ...code, accountID: null }, randomBytes(32), now))

  const attempt = db.transaction((id: string, candidate: Buffer, token: { hash: Buffer; expiresAt: number }, now: number): CodeAttempt => {
    const row = selectCode.get(id)
    if (!row) return { outcome: 'unknown' }
    if (row.expires_at <= now) {
      deleteCode.run(id)
      return { outcome: 'expired' }
    }
    // Both digests are 32 bytes (HMAC-SHA256), as timingSafeEqual requires.
    if (row.code_hash.length !== candidate.length || !timingSafeEqual(row.code_hash, candidate)) {
      const left = spendAttempt.get(id)?.attempts_left ?? 0
      if (left === 0) deleteCode.run(id)
      if (row.account_id) countFailure.run(now, row.account_id)
      return { outcome: 'wrong', attemptsLeft: left }
    }
    if (deleteCode.run(id).changes !== 1) return { outcome: 'unknown' }
    insertToken.run(token.hash, row.purpose, row.medium, row.address, row.account_id, token.expiresAt)
    if (row.account_id) {
      clearFailures.run(row.account_id)
      // Receiving the code proves the address: a bound 3PID of this account is now verified.
      verifyThirdPID.run(row.medium, row.address, row.account_id)
      if (row.purpose === 'confirm') activate.run(now, row.account_id)
    }
    return { outcome: 'ok', purpose: row.purpose, thirdPID: { type: row.medium, value: row.address }, accountID: row.account_id }
  })

  const bind = db.transaction((tokenHash: Buffer, accountID: string, thirdPID: ThirdPID, now: number): boolean => {
    if (deleteToken.run(tokenParams(tokenHash, { purpose: 'bind', accountID, thirdPID }, now)).changes !== 1) return false
    // A replaced address takes its live codes and tokens along: they no longer prove anything about the account.
    for (const { address } of deleteMedium.all(accountID, thirdPID.type)) {
      dropCodesFor.run(accountID, thirdPID.type, address)
      dropTokensFor.run(accountID, thirdPID.type, address)
    }
    // The (medium, address) primary key decides a race with another account: the whole transaction rolls back.
    insertThirdPID.run(thirdPID.type, thirdPID.value, accountID, now)
    return true
  })

  // "A way to log in" is another 3PID (a code, or its password), or a password with a username to name it.
  const unbind = db.transaction((accountID: string, thirdPID: ThirdPID): UnbindOutcome => {
    const others = otherThirdPIDs.get(accountID, thirdPID.type)?.n ?? 0
    const named = selectLoginable.get(accountID)?.named === 1
    if (deleteThirdPID.run(accountID, thirdPID.type, thirdPID.value).changes !== 1) return 'not_found'
    if (others === 0 && !named) throw new LastWayIn()
    dropCodesFor.run(accountID, thirdPID.type, thirdPID.value)
    dropTokensFor.run(accountID, thirdPID.type, thirdPID.value)
    return 'ok'
  })

  return {
    async issueCode(code, message, now) {
      issue.immediate(code, message, now)
    },
    async issueDecoy(code, now) {
      issueDecoy.immediate(code, now)
    },
    // The HMAC is computed before the transaction: nothing slow runs while the write lock is held.
    attempt: async (id, code, token, now) => attempt.immediate(id, hashCode(id, code), token, now),
    hasToken: async (hash, match, now) => findToken.get(tokenParams(hash, match, now)) !== undefined,
    consumeToken: async (hash, match, now) => deleteToken.run(tokenParams(hash, match, now)).changes === 1,
    bindThirdPID: async (tokenHash, accountID, thirdPID, now) => uniqueOrIdExists(() => bind.immediate(tokenHash, accountID, thirdPID, now)),
    async unbindThirdPID(accountID, thirdPID) {
      try {
        return unbind.immediate(accountID, thirdPID)
      } catch (error) {
        // Thrown inside the transaction so that the delete rolls back.
        if (error instanceof LastWayIn) return 'forbidden'
        throw error
      }
    },
    async markVerified(accountID, thirdPID) {
      verifyThirdPID.run(thirdPID.type, thirdPID.value, accountID)
    },
    codeFailures: async (accountID) => selectFailures.get(accountID) ?? { count: 0, lastAt: 0 },
    prune: async (now) => pruneCodes.run(now).changes + pruneTokens.run(now).changes,
  }
}

class LastWayIn extends Error {}
