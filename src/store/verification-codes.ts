// One-time codes: issued (with their message, in one transaction), decoys, and attempts that trade a
// right code for a verification token.
import { randomBytes } from 'node:crypto'
import type { Database } from 'better-sqlite3'
import type { OutboxStore, OutgoingMessage } from './outbox.ts'
import { codeColumns, codeHasher, codeMatches, type CodeRow } from './rows/verification-codes.ts'
import type { CodeAttempt, NewCode, VerificationStore } from './verifications.ts'

type CodeOps = Pick<VerificationStore, 'issueCode' | 'issueDecoy' | 'attempt' | 'markVerified' | 'codeFailures'> & { prune(now: number): number }

export function createCodeOps(db: Database, outbox: OutboxStore, secret: Buffer): CodeOps {
  const hashCode = codeHasher(secret)
  const deleteLive = db.prepare('DELETE FROM verification_codes WHERE medium = ? AND address = ? AND purpose = ? AND requester = ?')
  const insertCode = db.prepare(
    `INSERT INTO verification_codes (id, purpose, medium, address, account_id, requester, code_hash, attempts_left, expires_at, created_at)
     VALUES (@id, @purpose, @medium, @address, @accountID, @requester, @codeHash, @attempts, @expiresAt, @now)`,
  )
  const selectCode = db.prepare<[string], CodeRow>(`SELECT ${codeColumns} FROM verification_codes WHERE id = ?`)
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
  const verifyThirdPID = db.prepare('UPDATE thirdpids SET verified = 1 WHERE medium = ? AND address = ? AND account_id = ?')
  const activate = db.prepare("UPDATE accounts SET status = 'active', updated_at = ? WHERE id = ? AND status = 'pending'")
  const pruneCodes = db.prepare('DELETE FROM verification_codes WHERE expires_at <= ?')

  const replaceLive = (code: Omit<NewCode, 'code'>, codeHash: Buffer, now: number) => {
    deleteLive.run(code.thirdPID.type, code.thirdPID.value, code.purpose, code.requester)
    const { id, purpose, accountID, requester, attempts, expiresAt } = code
    insertCode.run({ id, purpose, medium: code.thirdPID.type, address: code.thirdPID.value, accountID, requester, codeHash, attempts, expiresAt, now })
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
    if (!codeMatches(row, candidate)) {
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

  return {
    async issueCode(code, message, now) {
      issue.immediate(code, message, now)
    },
    async issueDecoy(code, now) {
      issueDecoy.immediate(code, now)
    },
    // The HMAC is computed before the transaction: nothing slow runs while the write lock is held.
    attempt: async (id, code, token, now) => attempt.immediate(id, hashCode(id, code), token, now),
    async markVerified(accountID, thirdPID) {
      verifyThirdPID.run(thirdPID.type, thirdPID.value, accountID)
    },
    codeFailures: async (accountID) => selectFailures.get(accountID) ?? { count: 0, lastAt: 0 },
    prune: (now) => pruneCodes.run(now).changes,
  }
}
