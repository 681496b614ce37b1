// The chat example's own state: messages and read markers in a SQLite file of its own (not the server's).
// The server's pick of better-sqlite3 for this Node (13 on Node ≥ 22, 12 on Node 20).
import { createGroupCommit, Sqlite } from 'hafnium'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export interface Message {
  messageID: number
  from: string
  to: string
  text: string
  /** milliseconds since the epoch */
  at: number
}

export interface ReadMarkers {
  /** how far `user` has read the conversation (a message ID, 0 = nothing) */
  mine: number
  /** how far the peer has read it */
  theirs: number
}

export interface ChatStore {
  /** Resolves once the message is committed (writes of one event-loop turn share a commit). */
  add(from: string, to: string, text: string, at: number): Promise<Message>
  /** Messages between the two users older than `before` (all when absent), newest first; one more than `limit` tells `more`. */
  history(user: string, peer: string, before: number | undefined, limit: number): { messages: Message[]; more: boolean }
  /**
   * Moves `reader`'s marker in the conversation with `peer` forward to `upTo` (clamped to the newest message
   * of the conversation; never backwards) and returns where it stands.
   */
  markRead(reader: string, peer: string, upTo: number): Promise<number>
  readMarkers(user: string, peer: string): ReadMarkers
  close(): void
}

// One key per pair of users, the same whoever sends: a conversation is both directions.
const conversationOf = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`)

export function openChatStore(path: string): ChatStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Sqlite(path)
  db.pragma('journal_mode = WAL')
  // A message acknowledged to its sender must survive a crash of the process (normal is enough with WAL).
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 200')
  db.exec(`
    CREATE TABLE IF NOT EXISTS messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      conversation TEXT NOT NULL,
      sender TEXT NOT NULL,
      recipient TEXT NOT NULL,
      text TEXT NOT NULL,
      at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, id);
    CREATE TABLE IF NOT EXISTS read_markers (
      reader TEXT NOT NULL,
      conversation TEXT NOT NULL,
      up_to INTEGER NOT NULL,
      PRIMARY KEY (reader, conversation)
    ) STRICT;
  `)
  const insert = db.prepare('INSERT INTO messages (conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?)')
  const page = db.prepare<[string, number, number], { id: number; sender: string; recipient: string; text: string; at: number }>(
    'SELECT id, sender, recipient, text, at FROM messages WHERE conversation = ? AND id < ? ORDER BY id DESC LIMIT ?',
  )
  const newest = db.prepare<[string], { id: number | null }>('SELECT max(id) AS id FROM messages WHERE conversation = ?')
  const upsertMarker = db.prepare<[string, string, number], { up_to: number }>(
    `INSERT INTO read_markers (reader, conversation, up_to) VALUES (?, ?, ?)
     ON CONFLICT (reader, conversation) DO UPDATE SET up_to = max(up_to, excluded.up_to) RETURNING up_to`,
  )
  const marker = db.prepare<[string, string], { up_to: number }>('SELECT up_to FROM read_markers WHERE reader = ? AND conversation = ?')

  // Clamping and moving the marker in one transaction: a message sent in between cannot be skipped over.
  const markRead = db.transaction((reader: string, peer: string, upTo: number) => {
    const conversation = conversationOf(reader, peer)
    const last = newest.get(conversation)?.id ?? 0
    return upsertMarker.all(reader, conversation, Math.min(upTo, last))[0]!.up_to
  })

  // A commit costs several times an INSERT: the sends of one turn share one (its savepoints keep a failed
  // one from failing the others), and the sender hears back only after it.
  const writes = createGroupCommit(db)

  return {
    add: (from, to, text, at) =>
      writes.run(() => {
        const { lastInsertRowid } = insert.run(conversationOf(from, to), from, to, text, at)
        return { messageID: Number(lastInsertRowid), from, to, text, at }
      }),
    history(user, peer, before, limit) {
      const rows = page.all(conversationOf(user, peer), before ?? Number.MAX_SAFE_INTEGER, limit + 1)
      const messages = rows.slice(0, limit).map((r) => ({ messageID: r.id, from: r.sender, to: r.recipient, text: r.text, at: r.at }))
      return { messages, more: rows.length > limit }
    },
    markRead: (reader, peer, upTo) => writes.run(() => markRead(reader, peer, upTo)),
    readMarkers(user, peer) {
      const conversation = conversationOf(user, peer)
      return { mine: marker.get(user, conversation)?.up_to ?? 0, theirs: marker.get(peer, conversation)?.up_to ?? 0 }
    },
    close() {
      writes.flush()
      db.close()
    },
  }
}
