// The chat store's messages, appended unindexed and added to message_index in bulk (examples/chat/store.ts).
import type { Sqlite } from 'hafnium'
import type { Message } from './store.ts'

export interface MessageLogOptions {
  /** The unindexed messages are added to message_index once there are this many… (default 2,048) */
  mergeAt?: number
  /** …or every this many milliseconds while there are any (default 1,000). */
  mergeAfterMs?: number
  /** Told the first time a merge fails after one that worked (merges then wait for the timer, not for each send). */
  onMergeError?: (error: unknown) => void
}

export interface MessageLog {
  /** Writes a send to messages, not yet indexed (inside the caller's transaction). */
  append(messageID: number, conversation: number, from: string, to: string, text: string, at: number): void
  /** Called once the message's batch has committed (so an uncommitted message is never read), in ID order. */
  remember(conversation: number, messageID: number): void
  /** The IDs of the conversation's committed messages not yet in message_index, ascending (its newest). */
  logged(conversation: number): readonly number[]
  /** A logged message by its ID (one of `logged`'s, read from messages by rowid). */
  read(messageID: number): Message | undefined
  /** How many committed messages wait to be added to message_index. */
  unmerged(): number
  /** Stops the timer and merges what is left (call after the last write has been flushed). */
  close(): void
}

// A send appends to messages, a table with no secondary index: a commit writes the table's last page or two
// whatever the conversations in it, where an index on (conversation, id) took one leaf per conversation per
// commit (SQLite's own cost per message, bench/chat-store.ts: ~12 -> ~6 µs). The merge adds the new rows to
// message_index in one transaction per mergeAt messages, so each conversation's leaf is written once per
// merge; it copies two integers per message and deletes nothing (schema version 2 copied whole rows out of a
// separate log and emptied it: 7.8-9.1 -> 6.4-7.2 µs per message in the plain loop). Until then history
// finds a conversation's unindexed messages by the IDs in `logged` and reads them by rowid; a crash loses
// nothing, the rows are indexed when the file is next opened. Only the IDs are kept in memory: a message
// object per send (its strings included) lived through two or three scavenges until its merge, so V8 copied
// and promoted ~200 bytes per send.
// Opening indexes what an earlier process left unindexed; if that throws, the caller closes `db`.
export function openMessageLog(db: InstanceType<typeof Sqlite>, { mergeAt = 2048, mergeAfterMs = 1000, onMergeError }: MessageLogOptions = {}): MessageLog {
  const append = db.prepare('INSERT INTO messages (id, conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?, ?)')
  const logged = new Map<number, number[]>()
  const readOne = db.prepare<[number], { sender: string; recipient: string; text: string; at: number }>('SELECT sender, recipient, text, at FROM messages WHERE id = ?')
  let loggedCount = 0
  // Every message with an ID up to this one is in message_index (a merge indexes all IDs above the last one,
  // so the indexed messages are the table's first rows). At open: walked down from the newest row to the first
  // one indexed (a max(id) of message_index would read all of it: its key starts with the conversation).
  const lastIndexed = db.prepare<[], { id: number }>(
    'SELECT m.id FROM messages m WHERE EXISTS (SELECT 1 FROM message_index i WHERE i.conversation = m.conversation AND i.id = m.id) ORDER BY m.id DESC LIMIT 1',
  )
  let mergedUpTo = lastIndexed.get()?.id ?? 0
  const tableTop = db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM messages')
  const index = db.prepare<[number, number]>('INSERT INTO message_index (conversation, id) SELECT conversation, id FROM messages WHERE id > ? AND id <= ?')
  const merge = db.transaction(() => {
    const top = tableTop.get()?.id ?? 0
    if (top > mergedUpTo) index.run(mergedUpTo, top)
    return top
  })
  function mergeLog() {
    mergeScheduled = false
    const top = merge.immediate()
    if (top > mergedUpTo) mergedUpTo = top
    for (const [conversation, messages] of logged) {
      const rest = messages.filter((id) => id > mergedUpTo)
      if (rest.length === 0) logged.delete(conversation)
      else logged.set(conversation, rest)
    }
    loggedCount = 0
    for (const messages of logged.values()) loggedCount += messages.length
  }
  let mergeScheduled = false
  // A failed merge (disk full, I/O error) changes nothing: the unindexed rows and `logged` stay. Until one succeeds again
  // only the timer retries (each attempt indexes every waiting row), and the failure is reported once.
  let mergeFailing = false
  const mergeSoon = () => {
    try {
      mergeLog()
      mergeFailing = false
    } catch (error) {
      if (!mergeFailing) onMergeError?.(error)
      mergeFailing = true
    }
  }
  // What an earlier process appended and did not index (it crashed, or its last merge failed).
  mergeLog()
  const timer = setInterval(() => {
    if (loggedCount > 0) mergeSoon()
  }, mergeAfterMs)
  timer.unref()

  return {
    append(messageID, conversation, from, to, text, at) {
      append.run(messageID, conversation, from, to, text, at)
    },
    remember(conversation, messageID) {
      if (messageID <= mergedUpTo) return
      let messages = logged.get(conversation)
      if (!messages) logged.set(conversation, (messages = []))
      let at = messages.length
      while (at > 0 && messages[at - 1]! > messageID) at--
      if (at === messages.length) messages.push(messageID)
      else messages.splice(at, 0, messageID)
      if (++loggedCount >= mergeAt && !mergeScheduled && !mergeFailing) {
        mergeScheduled = true
        setImmediate(mergeSoon)
      }
    },
    logged: (conversation) => logged.get(conversation) ?? [],
    read(messageID) {
      const row = readOne.get(messageID)
      return row && { messageID, from: row.sender, to: row.recipient, text: row.text, at: row.at }
    },
    unmerged: () => loggedCount,
    close() {
      clearInterval(timer)
      // Indexed now so the next start has nothing to replay; if this fails, the next start indexes the rows.
      mergeSoon()
    },
  }
}
