// A password login's account read and its exact login_account charge in one statement (one round trip):
// the charge's bucket is named by the account the read finds, so a CTE reads, then takes.
import type pg from 'pg'
import type { ChargeOnFind, TookOnFind } from '../rate-buckets.ts'
import type { Account } from '../accounts.ts'
import type { ThirdPID } from '../../identifiers.ts'
import { toAccount, type AccountRow } from '../rows/accounts.ts'
import { accountColumns } from './accounts.ts'
import { read, takeStatement } from './rate-buckets.ts'
import { autocommit, run } from './db.ts'

/**
 * The take is takeShared's own upsert (rate-buckets.ts), so it holds the bucket's row lock and sees every
 * take committed before it on any node: exact as before. It runs whether or not an account is found (an
 * unknown name is charged its `otherwise` bucket), in the statement's one autocommit transaction. A
 * refused take returns no row; the bucket is then read by a second statement, for the wait (rare: an
 * exhausted budget).
 * Its commit does not wait for the WAL flush (synchronous_commit off for this statement alone): the take is
 * visible to every node at once all the same (exactness needs visibility, not the flush), and the login's
 * next write, if any — the device insert, or the failure's count — commits synchronously, which flushes the
 * WAL up to and including this take before that reply. Only a database crash within ~0.6 s (3 × wal_writer_delay)
 * of a take that no write followed (an unknown name, a refusal) can lose it. What the flush cost: with
 * argon2 busy on every core, 280 of this statement's 350 µs of PostgreSQL CPU and 2-4 ms of its wall time
 * (bench/postgres-statement-cost.ts).
 */
const statement = (where: string, first: number) => {
  const [rule, prefix, otherwise, capacity, refill, cost, now] = Array.from({ length: 7 }, (_, i) => `$${first + i}`)
  return `
  WITH found AS (SELECT ${accountColumns} FROM accounts a ${where}),
  took AS (${takeStatement(`${rule}::text`, `coalesce((SELECT ${prefix}::text || id FROM found), ${otherwise}::text)`, capacity!, refill!, cost!, now!)})
  SELECT f.*, t.subject AS took_subject, t.tokens AS took_tokens, t.updated_at AS took_updated_at
  FROM (SELECT set_config('synchronous_commit', 'off', true)) one LEFT JOIN found f ON true LEFT JOIN took t ON true`
}
type Row = Omit<AccountRow, 'id'> & { id: string | null; took_subject: string | null; took_tokens: number | null; took_updated_at: number | null }

export function createLoginLookup(pool: pg.Pool) {
  // Built here, not at import: accounts.ts (accountColumns) imports this module.
  const byUsername = statement('WHERE a.username = $1', 2)
  const byThirdPID = statement('JOIN thirdpids t ON t.account_id = a.id WHERE t.medium = $1 AND t.address = $2', 3)
  return async function byLoginNameCharging(name: { username: string } | { thirdPID: ThirdPID }, charge: ChargeOnFind): Promise<{ account: Account | undefined; took: TookOnFind }> {
    const values = [charge.rule, charge.subjectPrefix, charge.otherwise, charge.capacity, charge.refillPerSecond, charge.cost, charge.now]
    const result =
      'username' in name
        ? await run<Row>(pool, byUsername, [name.username, ...values])
        : await run<Row>(pool, byThirdPID, [name.thirdPID.type, name.thirdPID.value, ...values])
    const row = result.rows[0]!
    const account = row.id === null ? undefined : toAccount(row as AccountRow)
    const subject = account ? charge.subjectPrefix + account.id : charge.otherwise
    if (row.took_subject !== null) return { account, took: { subject: row.took_subject, taken: true, bucket: { tokens: row.took_tokens!, updatedAt: row.took_updated_at! } } }
    const [bucket] = await read(autocommit(pool), [{ ...charge, subject }], charge.now)
    return { account, took: { subject, taken: false, bucket: bucket! } }
  }
}
