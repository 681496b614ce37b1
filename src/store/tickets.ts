// Custom sign-in tickets (contract §13): accounts linked to an issuer's (iss, sub), and used ticket IDs.
import type { Database } from 'better-sqlite3'
import { AlreadyUsed } from './errors.ts'

export interface TicketStore {
  /** The account linked to the issuer's subject, if any. */
  linkedAccount(iss: string, sub: string): Promise<string | undefined>
  /** Whether any issuer's subject is linked to the account (a way to log in). */
  linkedToAccount(accountID: string): Promise<boolean>
  /**
   * Records the ticket's jti until `expiresAt` (ms); AlreadyUsed while a ticket with that jti is still
   * recorded and unexpired at `now` (a row past its expiry, not yet pruned, is taken over).
   */
  useJti(iss: string, jti: string, expiresAt: number, now: number): Promise<void>
  /** Forgets ticket IDs whose tickets have expired (a replay then fails on exp); returns how many. */
  prune(now: number): Promise<number>
}

export function createTicketStore(db: Database): TicketStore {
  const selectLink = db.prepare<[string, string], { account_id: string }>('SELECT account_id FROM ticket_links WHERE iss = ? AND sub = ?')
  const selectAnyLink = db.prepare<[string], { n: number }>('SELECT 1 AS n FROM ticket_links WHERE account_id = ? LIMIT 1')
  const insertJti = db.prepare(
    `INSERT INTO ticket_jtis (iss, jti, expires_at) VALUES (?, ?, ?)
     ON CONFLICT DO UPDATE SET expires_at = excluded.expires_at WHERE ticket_jtis.expires_at < ?`,
  )
  const deleteExpired = db.prepare('DELETE FROM ticket_jtis WHERE expires_at < ?')
  return {
    linkedAccount: async (iss, sub) => selectLink.get(iss, sub)?.account_id,
    linkedToAccount: async (accountID) => selectAnyLink.get(accountID) !== undefined,
    async useJti(iss, jti, expiresAt, now) {
      if (insertJti.run(iss, jti, expiresAt, now).changes !== 1) throw new AlreadyUsed()
    },
    prune: async (now) => deleteExpired.run(now).changes,
  }
}
