// The delivery outbox on PostgreSQL (contract in ../outbox.ts). Messages are sealed as on SQLite.
import type pg from 'pg'
import { sealMessage, unsealMessage, type OutboxQueue, type DueMessage } from '../outbox.ts'
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
  const fail = (id: number, error: string, nextAttemptAt: number | null) =>
    transaction(pool, async (db) => {
      const reason = error.slice(0, maxErrorLength)
      if (nextAttemptAt !== null) {
        await db.query('UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3', [reason, nextAttemptAt, id])
        return
      }
      await db.query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = NULL, sealed = '\\x'::bytea WHERE id = $2", [reason, id])
      await db.query(
        `DELETE FROM outbox WHERE next_attempt_at IS NULL AND id NOT IN
           (SELECT id FROM outbox WHERE next_attempt_at IS NULL ORDER BY id DESC LIMIT ${keptDeadLetters})`,
      )
    })
  return {
    async enqueue(message, now) {
      await enqueue(pool, key, message, now)
    },
    async due(now, limit) {
      const rows = await run<{ id: number; channel: string; sealed: Buffer; attempts: number; created_at: number }>(
        pool,
        'SELECT id, channel, sealed, attempts, created_at FROM outbox WHERE next_attempt_at <= $1 ORDER BY id LIMIT $2',
        [now, limit],
      )
      const found: DueMessage[] = []
      for (const row of rows.rows) {
        let message: OutgoingMessage
        try {
          message = unsealMessage(key, row.channel, row.sealed)
        } catch {
          // Sealed under another key (a node with a different outbox key) or damaged: it can never be sent.
          await fail(row.id, 'cannot unseal: the outbox key changed or the row is damaged', null)
          continue
        }
        found.push({ id: row.id, attempts: row.attempts, createdAt: row.created_at, message })
      }
      return found
    },
    async delivered(id) {
      await run(pool, 'DELETE FROM outbox WHERE id = $1', [id])
    },
    failed: fail,
    pending: async () => (await run<{ n: number }>(pool, 'SELECT count(*) AS n FROM outbox WHERE next_attempt_at IS NOT NULL')).rows[0]!.n,
  }
}
