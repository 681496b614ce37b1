// The chat example's own state: messages and read markers in a SQLite file of its own (not the server's).
// The server's pick of better-sqlite3 for this Node (13 on Node ≥ 22, 12 on Node 20).
import { createGroupCommit, Sqlite } from 'hafnium'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { openMessageLog, type MessageLog, type MessageLogOptions } from './message-log.ts'
import { migrate } from './schema.ts'

// A type, not an interface: it is passed to notify as a plain JSON object (Record<string, unknown>).
export type Message = {
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
  /** Resolves once the message is committed (writes of one event-loop turn share a commit), not yet indexed. */
  add(from: string, to: string, text: string, at: number): Promise<Message>
  /** Messages between the two users older than `before` (all when absent), newest first; one more than `limit` tells `more`. */
  history(user: string, peer: string, before: number | undefined, limit: number): { messages: Message[]; more: boolean }
  /**
   * Moves `reader`'s marker in the conversation with `peer` forward to `upTo` (clamped to the newest message
   * of the conversation; never backwards) and returns where it stands.
   */
  markRead(reader: string, peer: string, upTo: number): Promise<number>
  readMarkers(user: string, peer: string): ReadMarkers
  /** How many committed messages wait to be added to message_index. */
  unmerged(): number
  close(): void
}

interface Send {
  pair: string
  from: string
  to: string
  text: string
  at: number
  /** Set when its batch runs. */
  conversation: number
  messageID: number
}

/** The sends of one event-loop turn, appended as one group-commit operation. */
interface Batch {
  sends: Send[]
  committed: Promise<void>
}

// One key per pair of users, the same whoever sends: a conversation is both directions.
const conversationOf = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`)

// The options are the message log's (examples/chat/message-log.ts): when new messages are indexed, and who hears of a failure.
export type ChatStoreOptions = MessageLogOptions

export function openChatStore(path: string, options: ChatStoreOptions = {}): ChatStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Sqlite(path)
  try {
    db.pragma('busy_timeout = 200')
    // One process owns the file: the store keeps the next message ID and the logged messages' IDs in memory, so a
    // second server on the same file must fail at start (database is locked) rather than hand out the same IDs.
    db.pragma('locking_mode = EXCLUSIVE')
    db.pragma('journal_mode = WAL')
    // A message acknowledged to its sender must survive a crash of the process (normal is enough with WAL).
    db.pragma('synchronous = NORMAL')
    migrate(db)
  } catch (error) {
    // E.g. another process has the file (database is locked): this handle must not stay open.
    db.close()
    throw error
  }
  const page = db.prepare<[number, number, number], { id: number; sender: string; recipient: string; text: string; at: number }>(
    `SELECT m.id, m.sender, m.recipient, m.text, m.at FROM message_index i JOIN messages m ON m.id = i.id
     WHERE i.conversation = ? AND i.id < ? ORDER BY i.id DESC LIMIT ?`,
  )
  const findConversation = db.prepare<[string], { id: number }>('SELECT id FROM conversations WHERE pair = ?')
  const addConversation = db.prepare<[string], { id: number }>('INSERT INTO conversations (pair) VALUES (?) RETURNING id')
  const newest = db.prepare<[number], { id: number | null }>('SELECT max(id) AS id FROM message_index WHERE conversation = ?')
  const upsertMarker = db.prepare<[string, string, number], { up_to: number }>(
    `INSERT INTO read_markers (reader, conversation, up_to) VALUES (?, ?, ?)
     ON CONFLICT (reader, conversation) DO UPDATE SET up_to = max(up_to, excluded.up_to) RETURNING up_to`,
  )
  const marker = db.prepare<[string, string], { up_to: number }>('SELECT up_to FROM read_markers WHERE reader = ? AND conversation = ?')

  let log: MessageLog
  try {
    log = openMessageLog(db, options)
  } catch (error) {
    db.close()
    throw error
  }

  // id_floor: the highest ID handed out before schema version 3, a deleted message's included (examples/chat/schema.ts).
  let nextID = 1 + Math.max(
    (db.prepare('SELECT max(id) AS id FROM id_floor').get() as { id: number | null }).id ?? 0,
    (db.prepare('SELECT max(id) AS id FROM messages').get() as { id: number | null }).id ?? 0,
  )

  // Clamping and moving the marker in one transaction: a message sent in between cannot be skipped over.
  const markRead = db.transaction((reader: string, peer: string, upTo: number) => {
    const conversation = conversationOf(reader, peer)
    const id = conversationID(conversation)
    const last = id === undefined ? 0 : (log.logged(id).at(-1) ?? newest.get(id)?.id ?? 0)
    return upsertMarker.all(reader, conversation, Math.min(upTo, last))[0]!.up_to
  })

  // Conversation IDs known to be committed (a row never goes away); one made in a batch is cached only
  // once that batch has committed, so an ID rolled back with its savepoint is never handed out again.
  const committed = new Map<string, number>()
  const conversationID = (pair: string) => committed.get(pair) ?? findConversation.get(pair)?.id
  const rememberConversation = (pair: string, id: number) => {
    if (committed.size >= 100_000) committed.clear()
    committed.set(pair, id)
  }

  // A commit costs several times an INSERT: the writes of one turn share one, and the sender hears back only
  // after it. The sends of one batch are one operation in it, not one each: the group commit wraps each of
  // several operations in a savepoint, and a savepoint pair cost more than the INSERT it wrapped (plain
  // loop, bench/chat-store.ts, locking_mode EXCLUSIVE: 4.9 -> 12.1 µs per message). A failed append (disk
  // full, I/O error: the transaction is lost anyway) fails every send of its batch.
  const writes = createGroupCommit(db)
  let open: Batch | undefined
  function appendAll(batch: Batch) {
    if (open === batch) open = undefined
    for (const send of batch.sends) {
      send.conversation = conversationID(send.pair) ?? addConversation.get(send.pair)!.id
      // IDs are handed out here, in the order the batch runs; one rolled back is skipped, never reused.
      send.messageID = nextID++
      log.append(send.messageID, send.conversation, send.from, send.to, send.text, send.at)
    }
  }
  function openBatch(): Batch {
    const batch: Batch = (open = { sends: [], committed: undefined! })
    batch.committed = writes.run(() => appendAll(batch))
    batch.committed.catch(() => {
      if (open === batch) open = undefined
    })
    return batch
  }

  return {
    async add(from, to, text, at) {
      const send: Send = { pair: conversationOf(from, to), from, to, text, at, conversation: 0, messageID: 0 }
      const batch = open ?? openBatch()
      batch.sends.push(send)
      await batch.committed
      if (!committed.has(send.pair)) rememberConversation(send.pair, send.conversation)
      log.remember(send.conversation, send.messageID)
      // The store keeps only the ID.
      return { messageID: send.messageID, from, to, text, at }
    },
    history(user, peer, before, limit) {
      const conversation = conversationID(conversationOf(user, peer))
      if (conversation === undefined) return { messages: [], more: false }
      const below = before ?? Number.MAX_SAFE_INTEGER
      const recent = log.logged(conversation)
      // The logged messages are the conversation's newest: take those below `before`, then the indexed table's.
      const messages: Message[] = []
      for (let i = recent.length - 1; i >= 0 && messages.length <= limit; i--) {
        if (recent[i]! >= below) continue
        const message = log.read(recent[i]!)
        // A committed message's row is never deleted.
        if (!message) throw new Error(`chat store: committed message ${recent[i]} is not in messages`)
        messages.push(message)
      }
      if (messages.length <= limit) {
        const bound = recent.length > 0 ? Math.min(below, recent[0]!) : below
        for (const r of page.all(conversation, bound, limit + 1 - messages.length)) messages.push({ messageID: r.id, from: r.sender, to: r.recipient, text: r.text, at: r.at })
      }
      const more = messages.length > limit
      if (more) messages.length = limit
      return { messages, more }
    },
    markRead: (reader, peer, upTo) => writes.run(() => markRead(reader, peer, upTo)),
    readMarkers(user, peer) {
      const conversation = conversationOf(user, peer)
      return { mine: marker.get(user, conversation)?.up_to ?? 0, theirs: marker.get(peer, conversation)?.up_to ?? 0 }
    },
    unmerged: () => log.unmerged(),
    close() {
      writes.flush()
      // After the flush, so every write is indexed.
      log.close()
      db.close()
    },
  }
}
