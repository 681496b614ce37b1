// The backoff state of names that find no account, in one table every node shares (see LoginNameStore).
import type pg from 'pg'
import type { LoginNameStore } from '../login-names.ts'
import { run, transaction } from './db.ts'

export function createLoginNameStore(pool: pg.Pool): LoginNameStore {
  return {
    blockedUntil: async (name) =>
      (await run<{ blocked_until: number }>(pool, 'SELECT blocked_until FROM login_name_failures WHERE name = $1', [name])).rows[0]?.blocked_until ?? 0,
    // As accounts' recordLoginFailure: the counting upsert takes the row lock (also when its WHERE refuses the
    // update), the block is computed from the fresh count.
    recordFailure: (name, blockUntil, now) =>
      transaction(pool, async (db) => {
        const row = (
          await db.query<{ failures: number; blocked_until: number }>(
            `INSERT INTO login_name_failures AS f (name, failures, blocked_until, failed_at) VALUES ($1, 1, 0, $2)
             ON CONFLICT (name) DO UPDATE SET failures = f.failures + 1, failed_at = $2 WHERE f.blocked_until <= $2
             RETURNING failures, blocked_until`,
            [name, now],
          )
        ).rows[0]
        if (!row) return (await db.query<{ blocked_until: number }>('SELECT blocked_until FROM login_name_failures WHERE name = $1', [name])).rows[0]?.blocked_until ?? 0
        const blockedUntil = Math.max(row.blocked_until, blockUntil(row.failures))
        if (blockedUntil !== row.blocked_until) await db.query('UPDATE login_name_failures SET blocked_until = $1 WHERE name = $2', [blockedUntil, name])
        return 0
      }),
    prune: async (before) => (await run(pool, 'DELETE FROM login_name_failures WHERE failed_at < $1', [before])).rowCount ?? 0,
  }
}
