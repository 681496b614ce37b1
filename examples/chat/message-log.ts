// The chat store's append-only message log and its merge into the indexed table (examples/chat/store.ts).
import type { Sqlite } from 'hafnium'
import type { Message } from './store.ts'

export interface MessageLogOptions {
  /** The log is merged into the indexed table once it holds this many messages… (default 2,048) */
  mergeAt?: number
  /** …or every this many milliseconds while it holds any (default 1,000). */
  mergeAfterMs?: number
  /** Told the first time a merge fails after one that worked (the log then waits for the timer, not for each send). */
  onMergeError?: (error: unknown) => void
}

export interface MessageLog {
  /** Writes a send to message_log (inside the caller's transaction). */
  append(messageID: number, conversation: number, from: string, to: string, text: string, at: number): void
  /** Called once the message's batch has committed (so an uncommitted message is never read), in ID order. */
  remember(conversation: number, messageID: number): void
  /** The IDs of the conversation's committed messages not yet merged into the indexed table, ascending (its newest). */
  logged(conversation: number): readonly number[]
  /** A logged message by its ID (one of `logged`'s, read from message_log). */
  read(messageID: number): Message | undefined
  /** How many committed messages wait in the log to be merged into the indexed table. */
  unmerged(): number
  /** Stops the timer and merges what is left (call after the last write has been flushed). */
  close(): void
}

// A send appends to message_log, a table with no secondary index: a commit writes the log's last page or
// two whatever the conversations in it, where an insert into the indexed table wrote one index leaf per
// conversation per commit (SQLite's own cost per message, bench/chat-store.ts: ~12 -> ~6 µs). The merge
// moves the log into the indexed table in one transaction per mergeAt messages, so each conversation's
// leaf is written once per merge. Until then history finds a conversation's logged messages by the IDs in
// `logged` and reads them from message_log by rowid; a crash loses nothing, the log is merged when the file
// is next opened. Only the IDs are kept in memory: a message object per send (its strings included) lived
// through two or three scavenges until its merge, so V8 copied and promoted ~200 bytes per send.
// Opening merges what an earlier process left in the log; if that throws, the caller closes `db`.
export function openMessageLog(db: InstanceType<typeof Sqlite>, { mergeAt = 2048, mergeAfterMs = 1000, onMergeError }: MessageLogOptions = {}): MessageLog {
  const append = db.prepare('INSERT INTO message_log (id, conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?, ?)')
  const logged = new Map<number, number[]>()
  const readOne = db.prepare<[number], { sender: string; recipient: string; text: string; at: number }>('SELECT sender, recipient, text, at FROM message_log WHERE id = ?')
  let loggedCount = 0
  // Every message with an ID up to this one is in the indexed table.
  let mergedUpTo = 0
  const logTop = db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM message_log')
  const moveLog = db.prepare('INSERT INTO messages (id, conversation, sender, recipient, text, at) SELECT id, conversation, sender, recipient, text, at FROM message_log ORDER BY id')
  const clearLog = db.prepare('DELETE FROM message_log')
  const merge = db.transaction(() => {
    const top = logTop.get()?.id ?? 0
    moveLog.run()
    clearLog.run()
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
  // A failed merge (disk full, I/O error) changes nothing: the log and `logged` stay. Until one succeeds again
  // only the timer retries (each attempt copies the whole log), and the failure is reported once.
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
  // What an earlier process logged and did not merge (it crashed, or its last merge failed).
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
      // Merged now so the next start has nothing to replay; if this fails, the next start merges the log.
      mergeSoon()
    },
  }
}
