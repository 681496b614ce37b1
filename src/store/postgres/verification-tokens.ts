// Verification tokens on PostgreSQL and the 3PID changes they pay for, each token used by the same
// transaction as its change (contracts in ../verifications.ts; SQLite: ../verification-tokens.ts).
import type pg from 'pg'
import { UniqueViolation } from '../errors.ts'
import type { TokenMatch, VerificationStore } from '../verifications.ts'
import { forgetAddress } from './account-credentials.ts'
import { dropClaims } from './guests.ts'
import { lockAccount, run, transaction, uniqueViolation } from './db.ts'

type TokenOps = Pick<VerificationStore, 'hasToken' | 'consumeToken' | 'bindThirdPID' | 'unbindThirdPID'> & { prune(now: number): Promise<number> }

const tokenWhere = `token_hash = $1 AND purpose = $2 AND expires_at > $3 AND account_id IS NOT DISTINCT FROM $4
  AND ($5::text IS NULL OR (medium = $5 AND address = $6))`
const tokenParams = (hash: Buffer, match: TokenMatch, now: number) => [hash, match.purpose, now, match.accountID, match.thirdPID?.type ?? null, match.thirdPID?.value ?? null]

class LastWayIn extends Error {}

export function createTokenOps(pool: pg.Pool): TokenOps {
  return {
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
        if (uniqueViolation(error) !== undefined) throw new UniqueViolation('other')
        throw error
      }
    },
    // "A way to log in" is another 3PID (a code if it is verified, or its password), or a password with a username to name it.
    async unbindThirdPID(accountID, thirdPID) {
      try {
        return await transaction(pool, async (db) => {
          // A password with a username, or a linked identity provider or ticket issuer, also lets the owner in.
          const account = await lockAccount<{ named: boolean }>(
            db,
            accountID,
            `((password_hash IS NOT NULL AND username IS NOT NULL)
              OR EXISTS (SELECT 1 FROM provider_links p WHERE p.account_id = accounts.id)
              OR EXISTS (SELECT 1 FROM ticket_links k WHERE k.account_id = accounts.id)) AS named`,
          )
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
    prune: async (now) => (await run(pool, 'DELETE FROM verification_tokens WHERE expires_at <= $1', [now])).rowCount ?? 0,
  }
}
