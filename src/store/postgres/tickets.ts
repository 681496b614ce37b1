// Ticket links and used ticket IDs on PostgreSQL (contract in ../tickets.ts).
import type pg from 'pg'
import { AlreadyUsed } from '../errors.ts'
import type { TicketStore } from '../tickets.ts'
import { run } from './db.ts'

export function createTicketStore(pool: pg.Pool): TicketStore {
  return {
    linkedAccount: async (iss, sub) =>
      (await run<{ account_id: string }>(pool, 'SELECT account_id FROM ticket_links WHERE iss = $1 AND sub = $2', [iss, sub])).rows[0]?.account_id,
    linkedToAccount: async (accountID) => (await run(pool, 'SELECT 1 FROM ticket_links WHERE account_id = $1 LIMIT 1', [accountID])).rowCount === 1,
    // One upsert decides: a row still live keeps the insert from happening (and from taking it over).
    async useJti(iss, jti, expiresAt, now) {
      const result = await run(
        pool,
        `INSERT INTO ticket_jtis (iss, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (iss, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE ticket_jtis.expires_at < $4`,
        [iss, jti, expiresAt, now],
      )
      if (result.rowCount !== 1) throw new AlreadyUsed()
    },
    prune: async (now) => (await run(pool, 'DELETE FROM ticket_jtis WHERE expires_at < $1', [now])).rowCount ?? 0,
  }
}
