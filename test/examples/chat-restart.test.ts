// The private-chat example (examples/chat) across restarts: a chat file of an older layout converted at start,
// and acknowledged sends that survive kill -9 before they are indexed.
import { join } from 'node:path'
import * as assert from 'uvu/assert'
import { Sqlite } from '../../src/index.ts'
import { connect } from '../support/client.ts'
import { runCli } from '../support/process.ts'
import { within } from '../support/within.ts'
import { ask, chatSuite, device, exampleConfig, juliet, mercutio, password, romeo, start, stop, type Ctx } from './chat-support.ts'

const test = chatSuite('examples/chat restart')
// A conversation's key as examples/chat/store.ts makes it (both directions one key), for writing old file layouts.
const pair = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`)

/** The server started on a converted chat `file`: romeo's new device and his history with juliet. */
async function romeoAfterStart(ctx: Ctx, file: string) {
  ctx.server = await start(ctx, file)
  const r = await device(ctx, 'romeo')
  const { messages, read } = await ask(r, 'chat:history', { with: juliet })
  return { r, read, messages: messages.map((m: { messageID: number; text: string }) => [m.messageID, m.text]) }
}

/** Mercutio's conversation with juliet kept apart through the conversion. */
async function assertMercutiosOwn(ctx: Ctx) {
  const m = await device(ctx, 'mercutio')
  assert.equal((await ask(m, 'chat:history', { with: juliet })).messages.map((x: { text: string }) => x.text), ['elsewhere'])
}

test('a chat file from before conversation IDs (user_version 0) is converted at start: messages, IDs and markers kept', async (ctx) => {
  await stop(ctx)
  // The layout examples/chat/store.ts wrote before version 1: messages keyed by the pair's text.
  const file = join(ctx.dir, 'chat-v0.db')
  const db = new Sqlite(file)
  db.exec(`
    CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation TEXT NOT NULL, sender TEXT NOT NULL,
      recipient TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
    CREATE INDEX messages_by_conversation ON messages (conversation, id);
    CREATE TABLE read_markers (reader TEXT NOT NULL, conversation TEXT NOT NULL, up_to INTEGER NOT NULL, PRIMARY KEY (reader, conversation)) STRICT;
  `)
  const insert = db.prepare('INSERT INTO messages (id, conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?, 1)')
  insert.run(10, pair(juliet, romeo), juliet, romeo, 'old 1')
  insert.run(11, pair(mercutio, juliet), mercutio, juliet, 'elsewhere')
  insert.run(12, pair(juliet, romeo), romeo, juliet, 'old 2')
  db.prepare('INSERT INTO read_markers VALUES (?, ?, 10)').run(romeo, pair(juliet, romeo))
  db.close()
  const { r, messages, read } = await romeoAfterStart(ctx, file)
  assert.equal(messages, [[12, 'old 2'], [10, 'old 1']])
  assert.equal(read, { mine: 10, theirs: 0 })
  const sent = await ask(r, 'chat:send', { to: juliet, text: 'new' })
  assert.ok(sent.messageID > 12, `a new message's ID (${sent.messageID}) follows the converted ones`)
  await assertMercutiosOwn(ctx)
})

/**
 * The tables examples/chat/store.ts wrote at version 1 (sends inserted into the indexed table directly) with
 * its two conversations (Juliet and Romeo 1, Mercutio and Juliet 2); the insert for its messages (at 1).
 */
function version1Tables(db: InstanceType<typeof Sqlite>) {
  db.exec(`
    CREATE TABLE conversations (id INTEGER PRIMARY KEY, pair TEXT NOT NULL UNIQUE) STRICT;
    CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation INTEGER NOT NULL, sender TEXT NOT NULL,
      recipient TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
    CREATE INDEX messages_by_conversation ON messages (conversation, id);
    CREATE TABLE read_markers (reader TEXT NOT NULL, conversation TEXT NOT NULL, up_to INTEGER NOT NULL, PRIMARY KEY (reader, conversation)) STRICT;
    PRAGMA user_version = 1;
  `)
  db.prepare('INSERT INTO conversations (id, pair) VALUES (1, ?), (2, ?)').run(pair(juliet, romeo), pair(mercutio, juliet))
  return db.prepare('INSERT INTO messages (id, conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?, 1)')
}

test('a chat file of version 1 (no message log) gets one at start: messages, IDs and markers kept', async (ctx) => {
  await stop(ctx)
  // The layout examples/chat/store.ts wrote at version 1: sends inserted into the indexed table directly.
  const file = join(ctx.dir, 'chat-v1.db')
  const db = new Sqlite(file)
  const insert = version1Tables(db)
  insert.run(20, 1, juliet, romeo, 'v1 first')
  insert.run(21, 2, mercutio, juliet, 'elsewhere')
  insert.run(22, 1, romeo, juliet, 'v1 second')
  // A deleted message's ID (AUTOINCREMENT remembers it) is not handed out again either.
  insert.run(30, 1, romeo, juliet, 'deleted')
  db.exec('DELETE FROM messages WHERE id = 30')
  db.prepare('INSERT INTO read_markers VALUES (?, ?, 20)').run(romeo, pair(juliet, romeo))
  db.close()
  const { r, messages, read } = await romeoAfterStart(ctx, file)
  assert.equal(messages, [[22, 'v1 second'], [20, 'v1 first']])
  assert.equal(read, { mine: 20, theirs: 0 })
  const sent = await ask(r, 'chat:send', { to: juliet, text: 'new' })
  assert.is(sent.messageID, 31, 'a new message\'s ID follows every ID handed out before')
  assert.equal((await ask(r, 'chat:history', { with: juliet, limit: 2 })).messages.map((m: { text: string }) => m.text), ['new', 'v1 second'])
  assert.equal(await ask(r, 'chat:read', { with: juliet, upTo: 1000 }), { upTo: 31 }, 'clamped to the new, not yet merged, message')
  await assertMercutiosOwn(ctx)
  await stop(ctx)
  const after = new Sqlite(file, { readonly: true })
  assert.is(after.pragma('user_version', { simple: true }), 3)
  assert.equal(after.prepare('SELECT id FROM messages ORDER BY id').pluck().all(), [20, 21, 22, 31], 'merged on close, IDs kept')
  after.close()
  ctx.server = await start(ctx, file)
})

test('a chat file of version 2 (a message log, some of it not merged at a crash) is converted at start: messages, IDs and markers kept', async (ctx) => {
  await stop(ctx)
  // The layout examples/chat/store.ts wrote at version 2: sends committed to message_log, merged into messages later.
  const file = join(ctx.dir, 'chat-v2.db')
  const db = new Sqlite(file)
  const insert = version1Tables(db)
  db.exec(`
    CREATE TABLE message_log (id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL, sender TEXT NOT NULL,
      recipient TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
    PRAGMA user_version = 2;
  `)
  insert.run(40, 1, juliet, romeo, 'merged')
  insert.run(41, 2, mercutio, juliet, 'elsewhere')
  // A deleted message's ID (AUTOINCREMENT remembers it) is not handed out again after the conversion either.
  insert.run(50, 1, romeo, juliet, 'deleted')
  db.exec('DELETE FROM messages WHERE id = 50')
  db.prepare('INSERT INTO message_log (id, conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?, 1)').run(42, 1, romeo, juliet, 'logged')
  db.prepare('INSERT INTO read_markers VALUES (?, ?, 40)').run(romeo, pair(juliet, romeo))
  db.close()
  const { r, messages, read } = await romeoAfterStart(ctx, file)
  assert.equal(messages, [[42, 'logged'], [40, 'merged']])
  assert.equal(read, { mine: 40, theirs: 0 })
  const sent = await ask(r, 'chat:send', { to: juliet, text: 'new' })
  assert.is(sent.messageID, 51, 'a new message\'s ID follows every ID handed out before')
  assert.equal(await ask(r, 'chat:read', { with: juliet, upTo: 1000 }), { upTo: 51 }, 'clamped to the new, not yet indexed, message')
  await assertMercutiosOwn(ctx)
  await stop(ctx)
  const after = new Sqlite(file, { readonly: true })
  assert.is(after.pragma('user_version', { simple: true }), 3)
  assert.equal(after.prepare('SELECT id FROM messages ORDER BY id').pluck().all(), [40, 41, 42, 51])
  assert.equal(after.prepare('SELECT id FROM message_index ORDER BY id').pluck().all(), [40, 41, 42, 51], 'indexed on close')
  assert.is(after.prepare("SELECT count(*) FROM sqlite_schema WHERE name IN ('message_log', 'messages_by_conversation')").pluck().get(), 0)
  after.close()
  ctx.server = await start(ctx, file)
})

test('acknowledged sends survive kill -9 before they are indexed: history has them after a restart, in order', async (ctx) => {
  const chatFile = join(ctx.dir, 'crash-chat.db')
  const serve = () =>
    runCli(['serve', '--config', exampleConfig, '--port', '0', '--db', join(ctx.dir, 'crash.db')], {
      env: { HAFNIUM_CHAT_DB: chatFile, HAFNIUM_CHAT_MERGE_MS: '600000' },
    })
  let cli = serve()
  let url = await within(cli.ready, 20_000, 'the chat server to listen')
  const client = async (username: string, register: boolean) => {
    const c = await within(connect(url), 5000, 'a connection')
    ctx.clients.push(c)
    if (register) await ask(c, 'profile:register', { username, password, loginOnSuccess: false })
    await ask(c, 'profile:login', { username, password })
    return c
  }
  const j = await client('juliet', true)
  await client('romeo', true)
  // Sent at once (one batch) and one by one (a commit each): all acknowledged before the kill.
  const first = await Promise.all([1, 2, 3].map((i) => ask(j, 'chat:send', { to: romeo, text: `before the crash ${i}` })))
  const rest = []
  for (const i of [4, 5]) rest.push(await ask(j, 'chat:send', { to: romeo, text: `before the crash ${i}` }))
  cli.child.kill('SIGKILL')
  const killed = await within(cli.exited, 10_000, 'the killed server to exit')
  assert.is(killed.signal, 'SIGKILL')
  const crashed = new Sqlite(chatFile, { readonly: true })
  assert.equal([crashed.prepare('SELECT count(*) FROM messages').pluck().get(), crashed.prepare('SELECT count(*) FROM message_index').pluck().get()], [5, 0], 'the sends were stored, not indexed, at the kill')
  crashed.close()

  cli = serve()
  url = await within(cli.ready, 20_000, 'the restarted chat server to listen')
  try {
    const r = await client('romeo', false)
    const ids = [...first, ...rest].map((s: { messageID: number }) => s.messageID)
    const page1 = await ask(r, 'chat:history', { with: juliet, limit: 3 })
    const page2 = await ask(r, 'chat:history', { with: juliet, limit: 3, before: page1.messages.at(-1).messageID })
    assert.equal([...page1.messages, ...page2.messages].map((m: { messageID: number }) => m.messageID), [...ids].reverse())
    assert.equal(page2.messages.at(-1).text, 'before the crash 1')
    assert.is(page2.more, false)
  } finally {
    cli.child.kill('SIGTERM')
  }
  assert.is((await within(cli.exited, 10_000, 'the restarted server to exit')).code, 0)
  const merged = new Sqlite(chatFile, { readonly: true })
  assert.equal([merged.prepare('SELECT count(*) FROM message_index').pluck().get(), merged.prepare('SELECT count(*) FROM messages').pluck().get()], [5, 5])
  merged.close()
})

test.run()
