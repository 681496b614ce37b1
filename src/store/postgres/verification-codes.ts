// One-time codes on PostgreSQL: issued with their message, decoys, and attempts that trade a right code
// for a verification token (contracts in ../verifications.ts; SQLite: ../verification-codes.ts).
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { CodeAttempt, NewCode, VerificationStore } from '../verifications.ts'
import { codeColumns, codeHasher, codeMatches, type CodeRow } from '../rows/verification-codes.ts'
import { enqueue } from './outbox.ts'
import { run, transaction, uniqueViolation, type Queryable } from './db.ts'

type CodeOps = Pick<VerificationStore, 'issueCode' | 'issueDecoy' | 'attempt' | 'markVerified' | 'codeFailures'> & { prune(now: number): Promise<number> }

export function createCodeOps(pool: pg.Pool, secret: Buffer): CodeOps {
  const hashCode = codeHasher(secret)

  const replaceLive = async (db: Queryable, code: Omit<NewCode, 'code'>, codeHash: Buffer, now: number) => {
    await db.query('DELETE FROM verification_codes WHERE medium = $1 AND address = $2 AND purpose = $3 AND requester = $4', [
      code.thirdPID.type,
      code.thirdPID.value,
      code.purpose,
      code.requester,
    ])
    await db.query(
      `INSERT INTO verification_codes (id, purpose, medium, address, account_id, requester, code_hash, attempts_left, expires_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [code.id, code.purpose, code.thirdPID.type, code.thirdPID.value, code.accountID, code.requester, codeHash, code.attempts, code.expiresAt, now],
    )
  }
  // Two requests of one requester for one destination at once: the loser of the unique index retries
  // (its DELETE then sees the winner's row), so the last one's code is the live one, as on SQLite.
  const replacing = async (work: (db: Queryable) => Promise<void>) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await transaction(pool, work)
      } catch (error) {
        if (uniqueViolation(error) !== 'verification_codes_one_live' || attempt === 2) throw error
      }
    }
  }

  return {
    issueCode: (code, message, now) =>
      replacing(async (db) => {
        await replaceLive(db, code, hashCode(code.id, code.code), now)
        await enqueue(db, secret, message, now)
      }),
    // 32 random bytes equal an HMAC of some code with probability 2^-256: no guess is ever right.
    issueDecoy: (code, now) => replacing((db) => replaceLive(db, { ...code, accountID: null }, randomBytes(32), now)),
    // The code row is locked (FOR UPDATE) for the whole attempt: concurrent attempts take turns, so N of
    // them cost exactly N attempts and of concurrent right answers exactly one gets the token.
    async attempt(id, code, token, now) {
      const candidate = hashCode(id, code)
      return transaction(pool, async (db): Promise<CodeAttempt> => {
        const row = (
          await db.query<CodeRow>(`SELECT ${codeColumns} FROM verification_codes WHERE id = $1 FOR UPDATE`, [id])
        ).rows[0]
        if (!row) return { outcome: 'unknown' }
        if (row.expires_at <= now) {
          await db.query('DELETE FROM verification_codes WHERE id = $1', [id])
          return { outcome: 'expired' }
        }
        if (!codeMatches(row, candidate)) {
          const spent = await db.query<{ attempts_left: number }>(
            'UPDATE verification_codes SET attempts_left = attempts_left - 1 WHERE id = $1 AND attempts_left > 0 RETURNING attempts_left',
            [id],
          )
          const left = spent.rows[0]?.attempts_left ?? 0
          if (left === 0) await db.query('DELETE FROM verification_codes WHERE id = $1', [id])
          if (row.account_id) await db.query('UPDATE accounts SET failed_codes = failed_codes + 1, failed_code_at = $1 WHERE id = $2', [now, row.account_id])
          return { outcome: 'wrong', attemptsLeft: left }
        }
        if ((await db.query('DELETE FROM verification_codes WHERE id = $1', [id])).rowCount !== 1) return { outcome: 'unknown' }
        await db.query('INSERT INTO verification_tokens (token_hash, purpose, medium, address, account_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          token.hash,
          row.purpose,
          row.medium,
          row.address,
          row.account_id,
          token.expiresAt,
        ])
        if (row.account_id) {
          await db.query('UPDATE accounts SET failed_codes = 0 WHERE id = $1 AND failed_codes > 0', [row.account_id])
          // Receiving the code proves the address: a bound 3PID of this account is now verified.
          await db.query('UPDATE thirdpids SET verified = 1 WHERE medium = $1 AND address = $2 AND account_id = $3', [row.medium, row.address, row.account_id])
          if (row.purpose === 'confirm') await db.query("UPDATE accounts SET status = 'active', updated_at = $1 WHERE id = $2 AND status = 'pending'", [now, row.account_id])
        }
        return { outcome: 'ok', purpose: row.purpose, thirdPID: { type: row.medium, value: row.address }, accountID: row.account_id }
      })
    },
    async markVerified(accountID, thirdPID) {
      await run(pool, 'UPDATE thirdpids SET verified = 1 WHERE medium = $1 AND address = $2 AND account_id = $3', [thirdPID.type, thirdPID.value, accountID])
    },
    codeFailures: async (accountID) =>
      (await run<{ count: number; lastAt: number }>(pool, 'SELECT failed_codes AS count, failed_code_at AS "lastAt" FROM accounts WHERE id = $1', [accountID])).rows[0] ?? {
        count: 0,
        lastAt: 0,
      },
    prune: async (now) => (await run(pool, 'DELETE FROM verification_codes WHERE expires_at <= $1', [now])).rowCount ?? 0,
  }
}
