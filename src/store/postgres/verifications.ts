// One-time codes, verification tokens and the 3PID changes they pay for, on PostgreSQL (contracts in
// ../verifications.ts). The code or token that decides is consumed by the same transaction as the change.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import type pg from 'pg'
import type { ThirdPID } from '../../identifiers.ts'
import { ProtocolError } from '../../errors.ts'
import type { CodeAttempt, NewCode, TokenMatch, VerificationPurpose, VerificationStore } from '../verifications.ts'
import { forgetAddress } from './account-credentials.ts'
import { dropClaims } from './guests.ts'
import { enqueue } from './outbox.ts'
import { lockAccount, run, transaction, uniqueViolation, type Queryable } from './db.ts'

interface CodeRow {
  purpose: VerificationPurpose
  medium: ThirdPID['type']
  address: string
  account_id: string | null
  code_hash: Buffer
  attempts_left: number
  expires_at: number
}

const tokenWhere = `token_hash = $1 AND purpose = $2 AND expires_at > $3 AND account_id IS NOT DISTINCT FROM $4
  AND ($5::text IS NULL OR (medium = $5 AND address = $6))`
const tokenParams = (hash: Buffer, match: TokenMatch, now: number) => [hash, match.purpose, now, match.accountID, match.thirdPID?.type ?? null, match.thirdPID?.value ?? null]

class LastWayIn extends Error {}

export function createVerificationStore(pool: pg.Pool, secret: Buffer): VerificationStore {
  // The same keyed hash as on SQLite (../verification-codes.ts): the database alone gives no code away.
  const codeKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'hafnium verification codes', 32))
  const hashCode = (id: string, code: string) => createHmac('sha256', codeKey).update(`${id}:${code}`).digest()

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
          await db.query<CodeRow>('SELECT purpose, medium, address, account_id, code_hash, attempts_left, expires_at FROM verification_codes WHERE id = $1 FOR UPDATE', [id])
        ).rows[0]
        if (!row) return { outcome: 'unknown' }
        if (row.expires_at <= now) {
          await db.query('DELETE FROM verification_codes WHERE id = $1', [id])
          return { outcome: 'expired' }
        }
        if (row.code_hash.length !== candidate.length || !timingSafeEqual(row.code_hash, candidate)) {
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
    hasToken: async (hash, match, now) => (await run(pool, `SELECT 1 FROM verification_tokens WHERE ${tokenWhere}`, tokenParams(hash, match, now))).rowCount === 1,
    // One DELETE decides: of two concurrent uses, the second finds the row gone.
    consumeToken: async (hash, match, now) => (await run(pool, `DELETE FROM verification_tokens WHERE ${tokenWhere}`, tokenParams(hash, match, now))).rowCount === 1,
    async bindThirdPID(tokenHash, accountID, thirdPID, now) {
      try {
        return await transaction(pool, async (db) => {
          await lockAccount(db, accountID)
          const used = await db.query(`DELETE FROM verification_tokens WHERE ${tokenWhere}`, tokenParams(tokenHash, { purpose: 'bind', accountID, thirdPID }, now))
          if (used.rowCount !== 1) return false
          // A replaced address takes its live codes and tokens along.
          const replaced = await db.query<{ address: string }>('DELETE FROM thirdpids WHERE account_id = $1 AND medium = $2 RETURNING address', [accountID, thirdPID.type])
          for (const { address } of replaced.rows) await forgetAddress(db, accountID, thirdPID.type, address)
          // A verified holder's (medium, address) primary key refuses it: the whole transaction rolls back.
          await dropClaims(db, thirdPID.type, thirdPID.value, accountID)
          await db.query('INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES ($1, $2, $3, 1, $4)', [thirdPID.type, thirdPID.value, accountID, now])
          return true
        })
      } catch (error) {
        if (uniqueViolation(error) !== undefined) throw new ProtocolError('id_exists')
        throw error
      }
    },
    // "A way to log in" is another 3PID (a code if it is verified, or its password), or a password with a username to name it.
    async unbindThirdPID(accountID, thirdPID) {
      try {
        return await transaction(pool, async (db) => {
          const account = await lockAccount<{ named: boolean }>(db, accountID, '(password_hash IS NOT NULL AND username IS NOT NULL) AS named')
          const others = (
            await db.query<{ n: number }>(
              `SELECT count(*) AS n FROM thirdpids t JOIN accounts a ON a.id = t.account_id
               WHERE t.account_id = $1 AND t.medium <> $2 AND (t.verified = 1 OR a.password_hash IS NOT NULL)`,
              [accountID, thirdPID.type],
            )
          ).rows[0]!.n
          const deleted = await db.query('DELETE FROM thirdpids WHERE account_id = $1 AND medium = $2 AND address = $3', [accountID, thirdPID.type, thirdPID.value])
          if (deleted.rowCount !== 1) return 'not_found' as const
          // Thrown inside the transaction so that the delete rolls back.
          if (others === 0 && account?.named !== true) throw new LastWayIn()
          await forgetAddress(db, accountID, thirdPID.type, thirdPID.value)
          return 'ok' as const
        })
      } catch (error) {
        if (error instanceof LastWayIn) return 'forbidden'
        throw error
      }
    },
    async prune(now) {
      const codes = await run(pool, 'DELETE FROM verification_codes WHERE expires_at <= $1', [now])
      const tokens = await run(pool, 'DELETE FROM verification_tokens WHERE expires_at <= $1', [now])
      return (codes.rowCount ?? 0) + (tokens.rowCount ?? 0)
    },
  }
}
