// SQLite's own cost per chat message, from a plain loop (no promises, no server): the statements
// examples/chat/store.ts runs for a send, in batches like the chat bench's (16 messages per commit across
// 32 conversations), with the indexed table written at every commit (store version 1) or an append-only
// log written at every commit and merged into the indexed table every `merge` messages (version 2); the
// log with a savepoint pair per message (what the group commit does for a batch of several operations),
// and with one multi-row INSERT per batch; and version 3 ('indexed apart'): rows appended to a table with
// no secondary index (no AUTOINCREMENT), their (conversation, id) added to a WITHOUT ROWID index table every
// `merge` messages. EXCLUSIVE=1 sets locking_mode = EXCLUSIVE, as the store does.
// Usage: [EXCLUSIVE=1] node --import tsx bench/chat-store.ts [messages=200000] [batch=16] [merge=2048]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Sqlite } from '../src/index.ts'

const total = Number(process.argv[2] ?? 200_000)
const batch = Number(process.argv[3] ?? 16)
const mergeEvery = Number(process.argv[4] ?? 2048)
const conversations = 32
const text = 'A message of a typical length for a chat, some forty to eighty characters.'

function open(dir: string) {
  const db = new Sqlite(join(dir, 'chat.db'))
  if (process.env.EXCLUSIVE) db.pragma('locking_mode = EXCLUSIVE')
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`
    CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation INTEGER NOT NULL, sender TEXT NOT NULL,
      recipient TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
    CREATE INDEX messages_by_conversation ON messages (conversation, id);
    CREATE TABLE appended (id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL, sender TEXT NOT NULL,
      recipient TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
    CREATE TABLE appended_index (conversation INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (conversation, id)) WITHOUT ROWID, STRICT;
    CREATE TABLE message_log (id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL, sender TEXT NOT NULL,
      recipient TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
  `)
  return db
}

function run(mode: 'indexed' | 'log' | 'log+savepoints' | 'log, 1 INSERT' | 'indexed apart') {
  const dir = mkdtempSync(join(tmpdir(), 'chat-store-'))
  const db = open(dir)
  const [begin, commit, savepoint, release] = ['BEGIN IMMEDIATE', 'COMMIT', 'SAVEPOINT op', 'RELEASE op'].map((sql) => db.prepare(sql))
  const savepoints = mode === 'log+savepoints'
  const indexed = db.prepare('INSERT INTO messages (conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?)')
  const log = db.prepare('INSERT INTO message_log (id, conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?, ?)')
  const move = db.prepare('INSERT INTO messages SELECT * FROM message_log WHERE id <= ? ORDER BY id')
  const drop = db.prepare('DELETE FROM message_log WHERE id <= ?')
  const append = db.prepare('INSERT INTO appended (id, conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?, ?)')
  const index = db.prepare('INSERT INTO appended_index (conversation, id) SELECT conversation, id FROM appended WHERE id > ? AND id <= ?')
  let indexedUpTo = 0
  const merge = db.transaction((upTo: number) => {
    if (mode === 'indexed apart') {
      index.run(indexedUpTo, upTo)
      indexedUpTo = upTo
      return
    }
    move.run(upTo)
    drop.run(upTo)
  })
  const multi = db.prepare(`INSERT INTO message_log (id, conversation, sender, recipient, text, at) VALUES ${Array(batch).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`)
  const values: unknown[] = []
  let id = 0
  let unmerged = 0
  const started = process.cpuUsage()
  const wall = performance.now()
  for (let sent = 0; sent < total; sent += batch) {
    begin!.run()
    if (mode === 'log, 1 INSERT') {
      values.length = 0
      for (let i = 0; i < batch; i++) values.push(++id, (sent + i) % conversations, '@a@x', '@b@x', text, Date.now())
      multi.run(values)
    } else for (let i = 0; i < batch; i++) {
      const conversation = (sent + i) % conversations
      const at = Date.now()
      if (savepoints) savepoint!.run()
      if (mode === 'indexed') indexed.run(conversation, '@a@x', '@b@x', text, at)
      else if (mode === 'indexed apart') append.run(++id, conversation, '@a@x', '@b@x', text, at)
      else log.run(++id, conversation, '@a@x', '@b@x', text, at)
      if (savepoints) release!.run()
    }
    commit!.run()
    if (mode !== 'indexed' && (unmerged += batch) >= mergeEvery) {
      merge.immediate(id)
      unmerged = 0
    }
  }
  if (mode !== 'indexed') merge.immediate(id)
  const cpu = process.cpuUsage(started)
  const micros = (cpu.user + cpu.system) / total
  const count = (db.prepare(`SELECT count(*) AS n FROM ${mode === 'indexed apart' ? 'appended_index' : 'messages'}`).get() as { n: number }).n
  db.close()
  rmSync(dir, { recursive: true, force: true })
  console.log(`${mode.padEnd(14)} ${micros.toFixed(2)} µs CPU per message (${((cpu.system) / total).toFixed(2)} system), wall ${((performance.now() - wall) * 1000 / total).toFixed(2)} µs, ${count} rows, batch ${batch}${mode !== 'indexed' ? `, merge every ${mergeEvery}` : ''}`)
}

for (let round = 0; round < 2; round++) for (const mode of ['indexed', 'log', 'log+savepoints', 'log, 1 INSERT', 'indexed apart'] as const) run(mode)
