// The delivery outbox: messages carrying codes, sealed (AES-256-GCM), committed with the code, drained by the sender.
import { randomUUID } from 'node:crypto'
import type { Database } from 'better-sqlite3'
import { seal as sealWith, unseal as unsealWith } from './sealing.ts'
import type { OutgoingMessage } from './outgoing-message.ts'

export type { OutgoingMessage }

export interface DueMessage {
  id: number
  /** The claim holding the row (claim() only): pass it back to delivered/failed. */
  claim?: string
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
  /** Messages due at `now` (next_attempt_at <= now), oldest first, unsealed, claimed or not (a look, not a take). A row that cannot be unsealed is given up. */
  due(now: number, limit: number): Promise<DueMessage[]>
  /**
   * Takes up to `limit` messages due at `now` that no live claim holds, oldest first, and marks them
   * claimed until `now + leaseMs`, atomically: a concurrent claimer (another sender, another node)
   * skips them. A claim whose sender died lapses with its lease and its rows are due again (sent at
   * least once: twice only if a sender outlives its lease). Each returned message carries the claim.
   */
  claim(now: number, limit: number, leaseMs: number): Promise<DueMessage[]>
  /** Gives back what `claim` still holds (not delivered or failed): due again at once for any sender. */
  release(claim: string): Promise<void>
  /** Deletes the row; with `claim`, only while that claim still holds it (false: the lease was lost). */
  delivered(id: number, claim?: string): Promise<boolean>
  /**
   * Counts the attempt and ends any claim; `nextAttemptAt` null gives up: the sealed message is erased,
   * the row kept as a dead letter. With `claim`, only while that claim still holds the row.
   */
  failed(id: number, error: string, nextAttemptAt: number | null, claim?: string): Promise<void>
  /** Rows still to be sent (dead letters excluded). */
  pending(): Promise<number>
}

/** The SQLite outbox. */
export interface OutboxStore extends OutboxQueue {
  /** Synchronous on purpose: call it inside another store module's db.transaction so the message commits with the code. */
  enqueue(message: OutgoingMessage, now: number): void
}

/**
 * Voids every outbox claim: called by the one server that holds a SQLite file's lock, at start, so the
 * rows a killed previous run had claimed are sent at once instead of after their lease (no other server
 * can hold a claim on a locked file). On PostgreSQL, where other nodes' claims are live, leases alone end claims.
 */
export function releaseAbandonedClaims(db: Database): number {
  return db.prepare('UPDATE outbox SET claimed_until = NULL, claim = NULL WHERE claim IS NOT NULL').run().changes
}

/** Dead letters kept for an operator to inspect; older ones are deleted so a long outage cannot grow the table. */
const keptDeadLetters = 1000
const maxErrorLength = 500


export function createOutboxStore(db: Database, key: Buffer): OutboxStore {
  if (key.length !== 32) throw new Error('the outbox key must be 32 bytes')
  const insert = db.prepare(
    'INSERT INTO outbox (channel, sealed, attempts, next_attempt_at, created_at) VALUES (?, ?, 0, ?, ?)',
  )
  const selectDue = db.prepare<[number, number], OutboxRow>(
    'SELECT id, channel, sealed, attempts, created_at FROM outbox WHERE next_attempt_at <= ? ORDER BY id LIMIT ?',
  )
  // One statement in an IMMEDIATE transaction: the rows are chosen and marked under the write lock, so
  // two handles on one file never take the same row (PostgreSQL: FOR UPDATE SKIP LOCKED, postgres/outbox.ts).
  const claimDue = db.prepare<{ now: number; limit: number; until: number; claim: string }, OutboxRow>(
    `UPDATE outbox SET claimed_until = @until, claim = @claim
      WHERE id IN (SELECT id FROM outbox WHERE next_attempt_at <= @now AND (claimed_until IS NULL OR claimed_until <= @now)
                   ORDER BY id LIMIT @limit)
      RETURNING id, channel, sealed, attempts, created_at`,
  )
  const releaseClaim = db.prepare('UPDATE outbox SET claimed_until = NULL, claim = NULL WHERE claim = ?')
  // A NULL claim matches any row: the unclaimed calls (tests, tools) act as before.
  const remove = db.prepare('DELETE FROM outbox WHERE id = @id AND (@claim IS NULL OR claim = @claim)')
  const retryLater = db.prepare(
    'UPDATE outbox SET attempts = attempts + 1, last_error = @reason, next_attempt_at = @next, claimed_until = NULL, claim = NULL WHERE id = @id AND (@claim IS NULL OR claim = @claim)',
  )
  const giveUp = db.prepare(
    "UPDATE outbox SET attempts = attempts + 1, last_error = @reason, next_attempt_at = NULL, sealed = X'', claimed_until = NULL, claim = NULL WHERE id = @id AND (@claim IS NULL OR claim = @claim)",
  )
  const trimDeadLetters = db.prepare(
    `DELETE FROM outbox WHERE next_attempt_at IS NULL AND id NOT IN
       (SELECT id FROM outbox WHERE next_attempt_at IS NULL ORDER BY id DESC LIMIT ${keptDeadLetters})`,
  )
  const countPending = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox WHERE next_attempt_at IS NOT NULL')
  const fail = db.transaction((id: number, error: string, nextAttemptAt: number | null, claim: string | null) => {
    const reason = error.slice(0, maxErrorLength)
    if (nextAttemptAt !== null) return void retryLater.run({ reason, next: nextAttemptAt, id, claim })
    giveUp.run({ reason, id, claim })
    trimDeadLetters.run()
  })
  const claimTransaction = db.transaction((now: number, limit: number, until: number, claim: string) => claimDue.all({ now, limit, until, claim }))

  /** Unseals rows; one that cannot be unsealed is given up (it can never be sent). */
  function open(rows: OutboxRow[], claim?: string): DueMessage[] {
    const found: DueMessage[] = []
    for (const row of rows) {
      const due = dueMessage(key, row, claim)
      if (due) found.push(due)
      else fail.immediate(row.id, unsealFailure, null, claim ?? null)
    }
    return found
  }

  return {
    enqueue(message, now) {
      insert.run(message.channel, sealMessage(key, message), now, now)
    },
    due: async (now, limit) => open(selectDue.all(now, limit)),
    async claim(now, limit, leaseMs) {
      const claim = randomUUID()
      // RETURNING's order is not the scan's: oldest first is restored here.
      return open(claimTransaction.immediate(now, limit, now + leaseMs, claim).sort((a, b) => a.id - b.id), claim)
    },
    async release(claim) {
      releaseClaim.run(claim)
    },
    delivered: async (id, claim) => remove.run({ id, claim: claim ?? null }).changes === 1,
    async failed(id, error, nextAttemptAt, claim) {
      fail.immediate(id, error, nextAttemptAt, claim ?? null)
    },
    pending: async () => countPending.get()!.n,
  }
}

/** The message sealed for its channel's row (either engine). */
export function sealMessage(key: Buffer, message: OutgoingMessage): Buffer {
  const { channel, to, purpose, code } = message
  return seal(key, channel, Buffer.from(JSON.stringify({ channel, to, purpose, code })))
}

/** An outbox row as both engines select it for sending. */
export type OutboxRow = { id: number; channel: string; sealed: Buffer; attempts: number; created_at: number }

export const unsealFailure = 'cannot unseal: the outbox key changed or the row is damaged'

/**
 * The message a row holds, or undefined when it cannot be unsealed — sealed under another key (the key
 * file was replaced, or a node has a different one) or damaged: it can never be sent, so it is given up.
 */
export function dueMessage(key: Buffer, row: OutboxRow, claim?: string): DueMessage | undefined {
  let message: OutgoingMessage
  try {
    message = unsealMessage(key, row.channel, row.sealed)
  } catch {
    return undefined
  }
  return { id: row.id, ...(claim !== undefined && { claim }), attempts: row.attempts, createdAt: row.created_at, message }
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
