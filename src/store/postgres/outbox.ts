// The delivery outbox on PostgreSQL (contract in ../outbox.ts). Messages are sealed as on SQLite.
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { dueMessage, sealMessage, unsealFailure, type DueMessage, type OutboxQueue, type OutboxRow } from '../outbox.ts'
import type { OutgoingMessage } from '../outgoing-message.ts'
import { run, transaction, type Queryable } from './db.ts'

const keptDeadLetters = 1000
const maxErrorLength = 500

/** Inside the caller's transaction, so the message commits with the code it carries. */
export async function enqueue(db: Queryable, key: Buffer, message: OutgoingMessage, now: number): Promise<void> {
  await db.query('INSERT INTO outbox (channel, sealed, attempts, next_attempt_at, created_at) VALUES ($1, $2, 0, $3, $3)', [
    message.channel,
    sealMessage(key, message),
    now,
  ])
}


export function createOutboxStore(pool: pg.Pool, key: Buffer): OutboxQueue {
  if (key.length !== 32) throw new Error('the outbox key must be 32 bytes')
  // $4 is the claim: NULL matches any row (the unclaimed calls of tests and tools); a claim matches only
  // while it still holds the row, so a sender whose lease was taken over changes nothing.
  const fail = (id: number, error: string, nextAttemptAt: number | null, claim?: string) =>
    transaction(pool, async (db) => {
      const reason = error.slice(0, maxErrorLength)
      const mine = 'id = $3 AND ($4::text IS NULL OR claim = $4)'
      if (nextAttemptAt !== null) {
        await db.query(
          `UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, claimed_until = NULL, claim = NULL WHERE ${mine}`,
          [reason, nextAttemptAt, id, claim ?? null],
        )
        return
      }
      await db.query(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, sealed = '\\x'::bytea, claimed_until = NULL, claim = NULL WHERE ${mine}`,
        [reason, null, id, claim ?? null],
      )
      await db.query(
        `DELETE FROM outbox WHERE next_attempt_at IS NULL AND id NOT IN
           (SELECT id FROM outbox WHERE next_attempt_at IS NULL ORDER BY id DESC LIMIT ${keptDeadLetters})`,
      )
    })

  /** Unseals rows; one that cannot be unsealed is given up (it can never be sent). */
  async function open(rows: OutboxRow[], claim?: string): Promise<DueMessage[]> {
    const found: DueMessage[] = []
    for (const row of rows) {
      const due = dueMessage(key, row, claim)
      if (due) found.push(due)
      else await fail(row.id, unsealFailure, null, claim)
    }
    return found
  }

  return {
    async enqueue(message, now) {
      await enqueue(pool, key, message, now)
    },
    async due(now, limit) {
      const { rows } = await run<OutboxRow>(
        pool,
        'SELECT id, channel, sealed, attempts, created_at FROM outbox WHERE next_attempt_at <= $1 ORDER BY id LIMIT $2',
        [now, limit],
      )
      return open(rows)
    },
    async claim(now, limit, leaseMs) {
      const claim = randomUUID()
      // One statement, so atomic at READ COMMITTED (autocommit). FOR UPDATE SKIP LOCKED: a concurrent
      // claimer on another node neither waits for nor takes the rows this one is locking; once committed,
      // claimed_until keeps them out of other claims until the lease ends.
      const { rows } = await run<OutboxRow>(
        pool,
        `UPDATE outbox SET claimed_until = $2::bigint + $3::bigint, claim = $4
          WHERE id IN (SELECT id FROM outbox
                        WHERE next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2)
                        ORDER BY id LIMIT $1
                        FOR UPDATE SKIP LOCKED)
          RETURNING id, channel, sealed, attempts, created_at`,
        [limit, now, leaseMs, claim],
      )
      // RETURNING's order is not the subquery's: oldest first is restored here.
      return open(rows.sort((a, b) => a.id - b.id), claim)
    },
    async release(claim) {
      await run(pool, 'UPDATE outbox SET claimed_until = NULL, claim = NULL WHERE claim = $1', [claim])
    },
    async delivered(id, claim) {
      const { rowCount } = await run(pool, 'DELETE FROM outbox WHERE id = $1 AND ($2::text IS NULL OR claim = $2)', [id, claim ?? null])
      return rowCount === 1
    },
    failed: fail,
    pending: async () => (await run<{ n: number }>(pool, 'SELECT count(*) AS n FROM outbox WHERE next_attempt_at IS NOT NULL')).rows[0]!.n,
  }
}
