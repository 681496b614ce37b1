// Accounts and their third-party IDs on PostgreSQL (see ../accounts.ts for each operation's contract).
// No read cache: another node may have written the row a moment ago (see index.ts).
import type pg from 'pg'
import { UniqueViolation } from '../errors.ts'
import type { Account, AccountStore } from '../accounts.ts'
import { toAccount, type AccountRow } from '../rows/accounts.ts'
import { createCredentialOps } from './account-credentials.ts'
import { createGuestOps, dropClaims } from './guests.ts'
import { run, transaction, uniqueViolation } from './db.ts'
import { batchedRead } from './batched-read.ts'
import { createLoginLookup } from './login-lookup.ts'

// One statement per look-up: the 3PIDs ride along as JSON, as on SQLite.
export const accountColumns = `a.id, a.username, a.user_id, a.password_hash, a.status, a.profile, a.failed_logins, a.login_blocked_until,
  a.credentials_epoch, a.guest, a.created_at,
  (SELECT coalesce(json_agg(json_build_object('type', medium, 'value', address, 'verified', verified) ORDER BY medium), '[]'::json)
     FROM thirdpids WHERE account_id = a.id) AS thirdpids`

export function createAccountStore(pool: pg.Pool): AccountStore {
  const one = async (where: string, values: unknown[]) => toAccount((await run<AccountRow>(pool, `SELECT ${accountColumns} FROM accounts a ${where}`, values)).rows[0])
  const byUsername = (username: string) => one('WHERE a.username = $1', [username])
  const byUserID = (userID: string) => one('WHERE a.user_id = $1', [userID])
  // By ID (every own profile:get, and after each write): the look-ups of one turn in one statement.
  const rowByID = batchedRead(
    async (ids: string[]) => new Map((await run<AccountRow>(pool, `SELECT ${accountColumns} FROM accounts a WHERE a.id = ANY($1::text[])`, [ids])).rows.map((row) => [row.id, row])),
    (id) => id,
  )
  const byID = async (id: string) => toAccount(await rowByID(id))
  // A verified 3PID the owner made public (email_public / phone_number_public is true in the claims).
  const publicByThirdPID = (medium: string, address: string, claim: string) =>
    one(
      `JOIN thirdpids t ON t.account_id = a.id
       WHERE t.medium = $1 AND t.address = $2 AND t.verified = 1 AND a.status = 'active' AND (a.profile::jsonb -> $3) = 'true'::jsonb`,
      [medium, address, claim],
    )

  return {
    ...createCredentialOps(pool),
    ...createGuestOps(pool),
    // READ COMMITTED: the unique constraints decide between concurrent registrations (23505 → UniqueViolation).
    async create(account) {
      try {
        await transaction(pool, async (db) => {
          await db.query(
            `INSERT INTO accounts (id, username, user_id, password_hash, status, profile, guest, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
            [account.id, account.username, account.userID, account.passwordHash, account.status, JSON.stringify(account.profile), account.guest ? 1 : 0, account.now],
          )
          for (const t of account.thirdPIDs) {
            await dropClaims(db, t.type, t.value, account.id)
            await db.query('INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES ($1, $2, $3, $4, $5)', [
              t.type,
              t.value,
              account.id,
              t.verified ? 1 : 0,
              account.now,
            ])
          }
          if (account.providerLink) {
            await db.query('INSERT INTO provider_links (provider_id, sub, account_id, email, created_at) VALUES ($1, $2, $3, $4, $5)', [
              account.providerLink.providerID,
              account.providerLink.sub,
              account.id,
              account.providerLink.email,
              account.now,
            ])
          }
          if (account.ticketLink) {
            await db.query('INSERT INTO ticket_links (iss, sub, account_id, created_at) VALUES ($1, $2, $3, $4)', [
              account.ticketLink.iss,
              account.ticketLink.sub,
              account.id,
              account.now,
            ])
          }
        })
      } catch (error) {
        if (uniqueViolation(error) !== undefined) throw new UniqueViolation('other')
        throw error
      }
      return (await byID(account.id))!
    },
    byID,
    byUserID,
    byUsername,
    byLoginNameCharging: createLoginLookup(pool),
    byThirdPID: (t) => one('JOIN thirdpids t ON t.account_id = a.id WHERE t.medium = $1 AND t.address = $2', [t.type, t.value]),
    usernameTaken: async (username) => (await run(pool, 'SELECT 1 FROM accounts WHERE username = $1', [username])).rowCount === 1,
    async setStatus(id, status, now) {
      await run(pool, 'UPDATE accounts SET status = $1, credentials_epoch = credentials_epoch + 1, updated_at = $2 WHERE id = $3', [status, now, id])
    },
    async clearLoginFailures(id) {
      await run(pool, 'UPDATE accounts SET failed_logins = 0, login_blocked_until = 0 WHERE id = $1 AND failed_logins > 0', [id])
    },
    async query(query, limit) {
      const found: (Account | undefined)[] = []
      if (query.username) found.push(await byUsername(query.username))
      if (query.email) found.push(await publicByThirdPID('email', query.email, 'email_public'))
      if (query.msisdn) found.push(await publicByThirdPID('msisdn', query.msisdn, 'phone_number_public'))
      for (const userID of query.userIDs ?? []) found.push(await byUserID(userID))
      const seen = new Set<string>()
      return found
        .filter((a): a is Account => a !== undefined && a.status === 'active' && !seen.has(a.id) && seen.add(a.id) !== undefined)
        .slice(0, limit)
    },
    count: async () => (await run<{ n: number }>(pool, 'SELECT count(*) AS n FROM accounts')).rows[0]!.n,
    list: async (offset, limit) =>
      (await run<AccountRow>(pool, `SELECT ${accountColumns} FROM accounts a ORDER BY a.created_at, a.id LIMIT $1 OFFSET $2`, [limit, offset])).rows.map(
        (row) => toAccount(row)!,
      ),
    purgePending: async (olderThan) => (await run(pool, "DELETE FROM accounts WHERE status = 'pending' AND created_at < $1", [olderThan])).rowCount ?? 0,
    async erase(id, { releaseUsername, now }) {
      await transaction(pool, async (db) => {
        // A deactivated account's provider identities may sign up afresh, as its freed 3PIDs may.
        for (const table of ['thirdpids', 'devices', 'sudo_tokens', 'verification_codes', 'verification_tokens', 'provider_links']) {
          await db.query(`DELETE FROM ${table} WHERE account_id = $1`, [id])
        }
        if (releaseUsername) await db.query('DELETE FROM accounts WHERE id = $1', [id])
        else
          await db.query(
            `UPDATE accounts SET status = 'disabled', password_hash = NULL, profile = '{}', failed_logins = 0, login_blocked_until = 0,
               credentials_epoch = credentials_epoch + 1, updated_at = $1 WHERE id = $2`,
            [now, id],
          )
      })
    },
  }
}
