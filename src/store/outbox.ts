// The delivery outbox: messages carrying codes, sealed (AES-256-GCM), committed with the code, drained by the sender.
import type { Database } from 'better-sqlite3'
import { seal as sealWith, unseal as unsealWith } from './sealing.ts'
import type { OutgoingMessage } from './outgoing-message.ts'

export type { OutgoingMessage }

export interface DueMessage {
  id: number
  /** Attempts made before this one. */
  attempts: number
  /** When it was enqueued (ms): the sender drops a message whose code has expired. */
  createdAt: number
  message: OutgoingMessage
}

/**
 * The outbox as the sender sees it, asynchronous so that either engine serves it. A given-up row keeps
 * id, channel, attempts and last_error, not the message.
 */
export interface OutboxQueue {
  /** Enqueues on its own (tests, tools); the store's own writes enqueue inside their transaction. */
  enqueue(message: OutgoingMessage, now: number): void | Promise<void>
  /** Messages due at `now` (next_attempt_at <= now), oldest first, unsealed. A row that cannot be unsealed is given up. */
  due(now: number, limit: number): Promise<DueMessage[]>
  /** Deletes the row. */
  delivered(id: number): Promise<void>
  /** Counts the attempt; `nextAttemptAt` null gives up: the sealed message is erased, the row kept as a dead letter. */
  failed(id: number, error: string, nextAttemptAt: number | null): Promise<void>
  /** Rows still to be sent (dead letters excluded). */
  pending(): Promise<number>
}

/** The SQLite outbox. */
export interface OutboxStore extends OutboxQueue {
  /** Synchronous on purpose: call it inside another store module's db.transaction so the message commits with the code. */
  enqueue(message: OutgoingMessage, now: number): void
}

/** Dead letters kept for an operator to inspect; older ones are deleted so a long outage cannot grow the table. */
const keptDeadLetters = 1000
const maxErrorLength = 500

export function createOutboxStore(db: Database, key: Buffer): OutboxStore {
  if (key.length !== 32) throw new Error('the outbox key must be 32 bytes')
  const insert = db.prepare(
    'INSERT INTO outbox (channel, sealed, attempts, next_attempt_at, created_at) VALUES (?, ?, 0, ?, ?)',
  )
  const selectDue = db.prepare<[number, number], { id: number; channel: string; sealed: Buffer; attempts: number; created_at: number }>(
    'SELECT id, channel, sealed, attempts, created_at FROM outbox WHERE next_attempt_at <= ? ORDER BY id LIMIT ?',
  )
  const remove = db.prepare('DELETE FROM outbox WHERE id = ?')
  const retryLater = db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?')
  const giveUp = db.prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = NULL, sealed = X'' WHERE id = ?")
  const trimDeadLetters = db.prepare(
    `DELETE FROM outbox WHERE next_attempt_at IS NULL AND id NOT IN
       (SELECT id FROM outbox WHERE next_attempt_at IS NULL ORDER BY id DESC LIMIT ${keptDeadLetters})`,
  )
  const countPending = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox WHERE next_attempt_at IS NOT NULL')
  const fail = db.transaction((id: number, error: string, nextAttemptAt: number | null) => {
    const reason = error.slice(0, maxErrorLength)
    if (nextAttemptAt !== null) return void retryLater.run(reason, nextAttemptAt, id)
    giveUp.run(reason, id)
    trimDeadLetters.run()
  })

  return {
    enqueue(message, now) {
      insert.run(message.channel, sealMessage(key, message), now, now)
    },
    async due(now, limit) {
      const found: DueMessage[] = []
      for (const row of selectDue.all(now, limit)) {
        let message: OutgoingMessage
        try {
          message = unsealMessage(key, row.channel, row.sealed)
        } catch {
          // Sealed under another key (the key file was replaced) or damaged: it can never be sent.
          fail.immediate(row.id, 'cannot unseal: the outbox key changed or the row is damaged', null)
          continue
        }
        found.push({ id: row.id, attempts: row.attempts, createdAt: row.created_at, message })
      }
      return found
    },
    async delivered(id) {
      remove.run(id)
    },
    async failed(id, error, nextAttemptAt) {
      fail.immediate(id, error, nextAttemptAt)
    },
    pending: async () => countPending.get()!.n,
  }
}

/** The message sealed for its channel's row (either engine). */
export function sealMessage(key: Buffer, message: OutgoingMessage): Buffer {
  const { channel, to, purpose, code } = message
  return seal(key, channel, Buffer.from(JSON.stringify({ channel, to, purpose, code })))
}

/** Throws when the key or the channel differ, or the row was altered. */
export function unsealMessage(key: Buffer, channel: string, sealed: Buffer): OutgoingMessage {
  return JSON.parse(unseal(key, channel, sealed).toString('utf8')) as OutgoingMessage
}

// The channel is authenticated, so a row cannot be moved to another.
function additionalData(channel: string): string {
  return `hafnium-outbox-v1:${channel}`
}

function seal(key: Buffer, channel: string, plain: Buffer): Buffer {
  return sealWith(key, additionalData(channel), plain)
}

function unseal(key: Buffer, channel: string, sealed: Buffer): Buffer {
  return unsealWith(key, additionalData(channel), sealed)
}
