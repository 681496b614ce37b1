// The chat example's SQLite schema and its migrations (examples/chat/store.ts opens the file).
import { Sqlite } from 'hafnium'

/**
 * The schema, made or brought up to date (PRAGMA user_version), one step per version, all in one transaction.
 * Version 1 keys messages by an integer conversation ID (table conversations) instead of the pair's text:
 * the index on (conversation, id) is a fifth of the size, and an INSERT with its commit share cost half as
 * much CPU (measured: 21 -> 10 µs per message in batches of 32 across 32 conversations); a version-0 file
 * (text keys) is converted with its message IDs kept. Version 2 adds message_log, where sends are committed
 * before they are merged into messages (openChatStore); messages already stored stay where they are.
 * Version 3 drops the log: sends are committed into messages itself, which has no secondary index, and
 * message_index (conversation, id) is filled in later, per thousands of messages (examples/chat/message-log.ts).
 * A merge copied each row and deleted it from the log; indexing copies two integers (SQLite's own cost per
 * message, bench/chat-store.ts, batches of 20: 7.8-9.1 -> 6.4-7.2 µs). messages loses AUTOINCREMENT, whose
 * sqlite_sequence row each insert rewrote (+1.3 µs per message there); the highest ID it remembered (a deleted
 * message's) is kept in id_floor, so no ID is handed out twice.
 */
export function migrate(db: InstanceType<typeof Sqlite>) {
  // BEGIN IMMEDIATE and the version read inside it: nothing else writes the file while it is converted.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version < 1) toVersion1(db)
    if (version < 2) {
      db.exec(`
        CREATE TABLE message_log (
          id INTEGER PRIMARY KEY,
          conversation INTEGER NOT NULL,
          sender TEXT NOT NULL,
          recipient TEXT NOT NULL,
          text TEXT NOT NULL,
          at INTEGER NOT NULL
        ) STRICT;
      `)
      db.pragma('user_version = 2')
    }
    if (version < 3) toVersion3(db)
  }).immediate()
}

function toVersion1(db: InstanceType<typeof Sqlite>) {
  const old = (db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = 'messages'").get() as { n: number }).n > 0
  if (old) db.exec('DROP INDEX IF EXISTS messages_by_conversation; ALTER TABLE messages RENAME TO messages_v0')
  db.exec(`
    CREATE TABLE conversations (
      id INTEGER PRIMARY KEY,
      pair TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE TABLE messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      conversation INTEGER NOT NULL,
      sender TEXT NOT NULL,
      recipient TEXT NOT NULL,
      text TEXT NOT NULL,
      at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX messages_by_conversation ON messages (conversation, id);
    CREATE TABLE IF NOT EXISTS read_markers (
      reader TEXT NOT NULL,
      conversation TEXT NOT NULL,
      up_to INTEGER NOT NULL,
      PRIMARY KEY (reader, conversation)
    ) STRICT;
  `)
  if (old) {
    db.exec(`
      INSERT INTO conversations (pair) SELECT DISTINCT conversation FROM messages_v0 ORDER BY conversation;
      INSERT INTO messages (id, conversation, sender, recipient, text, at)
        SELECT m.id, c.id, m.sender, m.recipient, m.text, m.at FROM messages_v0 m JOIN conversations c ON c.pair = m.conversation ORDER BY m.id;
      DROP TABLE messages_v0;
    `)
  }
}

function toVersion3(db: InstanceType<typeof Sqlite>) {
  const floor = Math.max(
    (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").get() as { seq: number } | undefined)?.seq ?? 0,
    (db.prepare('SELECT max(id) AS id FROM message_log').get() as { id: number | null }).id ?? 0,
  )
  db.exec(`
    CREATE TABLE messages_v3 (
      id INTEGER PRIMARY KEY,
      conversation INTEGER NOT NULL,
      sender TEXT NOT NULL,
      recipient TEXT NOT NULL,
      text TEXT NOT NULL,
      at INTEGER NOT NULL
    ) STRICT;
    INSERT INTO messages_v3 SELECT id, conversation, sender, recipient, text, at FROM messages ORDER BY id;
    INSERT INTO messages_v3 SELECT id, conversation, sender, recipient, text, at FROM message_log ORDER BY id;
    DROP TABLE messages;
    DROP TABLE message_log;
    ALTER TABLE messages_v3 RENAME TO messages;
    CREATE TABLE message_index (
      conversation INTEGER NOT NULL,
      id INTEGER NOT NULL,
      PRIMARY KEY (conversation, id)
    ) WITHOUT ROWID, STRICT;
    INSERT INTO message_index SELECT conversation, id FROM messages;
    CREATE TABLE id_floor (id INTEGER NOT NULL) STRICT;
  `)
  db.prepare('INSERT INTO id_floor (id) VALUES (?)').run(floor)
  db.pragma('user_version = 3')
}
