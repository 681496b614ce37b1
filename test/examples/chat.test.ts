// The private-chat example (examples/chat) end to end over real sockets: delivery to every device, history,
// read markers, a restart, limits and failures. Its own config file is used, as `hafnium serve --config` would.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig } from '../../src/config.ts'
import { errors } from '../../src/errors.ts'
import { startServer, type HafniumServer } from '../../src/server.ts'
import { Sqlite } from '../../src/index.ts'
import { connect, type Reply, type TestClient } from '../support/client.ts'
import { runCli } from '../support/process.ts'
import { within } from '../support/within.ts'
import { extensionDir, probeExtension } from '../extensions/support.ts'

const exampleConfig = fileURLToPath(new URL('../../examples/chat/server.config.json', import.meta.url))
const password = 'balcony-scene-2'

interface Ctx {
  dir: string
  probe: string
  server: HafniumServer
  clients: TestClient[]
  tokens: Record<string, string>
}
const test = suite<Ctx>('examples/chat')

/** The example's config file, on a port of its own, with this suite's database files and cheap argon2. */
async function start(ctx: Ctx, chatFile = join(ctx.dir, 'chat.db')): Promise<HafniumServer> {
  process.env.HAFNIUM_CHAT_DB = chatFile
  const config = loadConfig({
    file: exampleConfig,
    overrides: {
      server: { port: 0 },
      database: { path: join(ctx.dir, 'hafnium.db') },
      password: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } },
      log: { level: 'silent' },
    },
  })
  // The probe extension alongside: its probe:crash throws a plain Error.
  return startServer({ ...config, extensions: [...config.extensions, ctx.probe] })
}

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-chat-'))
  ctx.probe = extensionDir().write('probe.mjs', probeExtension)
  ctx.clients = []
  ctx.tokens = {}
  ctx.server = await start(ctx)
  const c = await open(ctx)
  for (const username of ['juliet', 'romeo', 'mercutio', 'benvolio']) await ask(c, 'profile:register', { username, password, loginOnSuccess: false })
})
test.after(async (ctx) => {
  for (const client of ctx.clients) client.terminate()
  await ctx.server.close()
  delete process.env.HAFNIUM_CHAT_DB
  rmSync(ctx.dir, { recursive: true, force: true })
})

async function open(ctx: Ctx): Promise<TestClient> {
  const client = await within(connect(ctx.server.url), 5000, 'a connection')
  ctx.clients.push(client)
  return client
}

/** A request whose reply must come within 5 s. */
const request = (client: TestClient, type: string, payload: object = {}) => within(client.request(type, payload), 5000, `the reply to ${type}`)

/** A request that must succeed; resolves with its payload. */
async function ask(client: TestClient, type: string, payload: object = {}): Promise<any> {
  const reply = await request(client, type, payload)
  assert.ok(reply.ok, JSON.stringify(reply))
  return reply.payload
}

/** A new device of `username` on a new connection. */
async function device(ctx: Ctx, username: string): Promise<TestClient> {
  const client = await open(ctx)
  const { authToken } = await ask(client, 'profile:login', { username, password })
  ctx.tokens[username] = authToken
  return client
}

const juliet = '@juliet@localhost'
const romeo = '@romeo@localhost'
const mercutio = '@mercutio@localhost'

/** Resolves with the event and the milliseconds from `since` to its arrival. */
function timed(client: TestClient, type: string, since: () => number): Promise<{ event: Reply; ms: number }> {
  return within(client.nextEvent(type).then((event) => ({ event, ms: performance.now() - since() })), 5000, `${type} on a device`)
}

test('chat:send reaches both of the recipient\'s devices and the sender\'s other device within 100 ms', async (ctx) => {
  const [j1, j2, r1, r2] = [await device(ctx, 'juliet'), await device(ctx, 'juliet'), await device(ctx, 'romeo'), await device(ctx, 'romeo')]
  let sentAt = 0
  const arrivals = [r1, r2, j2].map((client) => timed(client, 'chat:message', () => sentAt))
  sentAt = performance.now()
  const reply = await ask(j1, 'chat:send', { to: romeo, text: 'Wherefore art thou?' })
  assert.type(reply.messageID, 'number')
  assert.type(reply.at, 'number')
  for (const { event, ms } of await Promise.all(arrivals)) {
    assert.equal(event.payload, { messageID: reply.messageID, from: juliet, to: romeo, text: 'Wherefore art thou?', at: reply.at })
    assert.ok(ms <= 100, `delivered after ${ms.toFixed(1)} ms`)
  }
  const echo = await within(j1.nextEvent('chat:message'), 5000, 'the sender\'s own copy')
  assert.is(echo.payload.messageID, reply.messageID, 'the sending connection gets it too (clients dedupe by messageID)')
})

test('chat:history pages newest first, and survives a reconnect', async (ctx) => {
  const r = await device(ctx, 'romeo')
  const sent: number[] = []
  for (let i = 1; i <= 5; i++) sent.push((await ask(r, 'chat:send', { to: juliet, text: `line ${i}` })).messageID)
  r.terminate()

  const again = await open(ctx)
  await ask(again, 'profile:auth', { authToken: ctx.tokens.romeo })
  const first = await ask(again, 'chat:history', { with: juliet, limit: 3 })
  assert.equal(first.messages.map((m: { text: string }) => m.text), ['line 5', 'line 4', 'line 3'])
  assert.is(first.more, true)
  const second = await ask(again, 'chat:history', { with: juliet, limit: 3, before: first.messages.at(-1).messageID })
  assert.equal(second.messages.map((m: { text: string }) => m.text), ['line 2', 'line 1', 'Wherefore art thou?'])
  assert.is(second.more, false)
  assert.equal(second.messages[0], { messageID: sent[1], from: romeo, to: juliet, text: 'line 2', at: second.messages[0].at })
  const none = await ask(again, 'chat:history', { with: mercutio })
  assert.equal(none, { messages: [], more: false, read: { mine: 0, theirs: 0 } })
})

test('chat:read moves the reader\'s marker (never backwards, clamped), tells every device of both users, shows in history', async (ctx) => {
  const [j1, j2, r1] = [await device(ctx, 'juliet'), await device(ctx, 'juliet'), await device(ctx, 'romeo')]
  const { messages } = await ask(j1, 'chat:history', { with: romeo, limit: 1 })
  const newest = messages[0].messageID
  const events = [j2, r1].map((client) => within(client.nextEvent('chat:read'), 5000, 'chat:read on a device'))
  assert.equal(await ask(j1, 'chat:read', { with: romeo, upTo: newest }), { upTo: newest })
  for (const event of await Promise.all(events)) assert.equal(event.payload, { reader: juliet, with: romeo, upTo: newest })
  assert.equal((await ask(r1, 'chat:history', { with: juliet, limit: 1 })).read, { mine: 0, theirs: newest })
  assert.equal((await ask(j1, 'chat:history', { with: romeo, limit: 1 })).read, { mine: newest, theirs: 0 })
  assert.equal(await ask(j1, 'chat:read', { with: romeo, upTo: 1 }), { upTo: newest }, 'never backwards')
  assert.equal(await ask(r1, 'chat:read', { with: juliet, upTo: newest + 1000 }), { upTo: newest }, 'clamped to the newest message')
})

test('a message to a user with no live connection is delivered by history later', async (ctx) => {
  const j = await device(ctx, 'juliet')
  const { messageID } = await ask(j, 'chat:send', { to: mercutio, text: 'A plague o\' both your houses' })
  const m = await device(ctx, 'mercutio')
  const { messages } = await ask(m, 'chat:history', { with: juliet })
  assert.equal(messages.map((x: { messageID: number; text: string }) => [x.messageID, x.text]), [[messageID, 'A plague o\' both your houses']])
})

test('history and read markers survive a server restart', async (ctx) => {
  for (const client of ctx.clients) client.terminate()
  await ctx.server.close()
  ctx.server = await start(ctx)
  const r = await open(ctx)
  await ask(r, 'profile:auth', { authToken: ctx.tokens.romeo })
  const { messages, read } = await ask(r, 'chat:history', { with: juliet, limit: 2 })
  assert.equal(messages.map((m: { text: string }) => m.text), ['line 5', 'line 4'])
  assert.is(read.theirs, read.mine, 'both markers at the newest message, as set before the restart')
  assert.ok(read.mine > 0)
})

test('a chat file from before conversation IDs (user_version 0) is converted at start: messages, IDs and markers kept', async (ctx) => {
  for (const client of ctx.clients) client.terminate()
  await ctx.server.close()
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
  const pair = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`)
  insert.run(10, pair(juliet, romeo), juliet, romeo, 'old 1')
  insert.run(11, pair(mercutio, juliet), mercutio, juliet, 'elsewhere')
  insert.run(12, pair(juliet, romeo), romeo, juliet, 'old 2')
  db.prepare('INSERT INTO read_markers VALUES (?, ?, 10)').run(romeo, pair(juliet, romeo))
  db.close()
  ctx.server = await start(ctx, file)
  const r = await device(ctx, 'romeo')
  const { messages, read } = await ask(r, 'chat:history', { with: juliet })
  assert.equal(messages.map((m: { messageID: number; text: string }) => [m.messageID, m.text]), [[12, 'old 2'], [10, 'old 1']])
  assert.equal(read, { mine: 10, theirs: 0 })
  const sent = await ask(r, 'chat:send', { to: juliet, text: 'new' })
  assert.ok(sent.messageID > 12, `a new message's ID (${sent.messageID}) follows the converted ones`)
  const m = await device(ctx, 'mercutio')
  assert.equal((await ask(m, 'chat:history', { with: juliet })).messages.map((x: { text: string }) => x.text), ['elsewhere'])
})

test('a chat file of version 1 (no message log) gets one at start: messages, IDs and markers kept', async (ctx) => {
  for (const client of ctx.clients) client.terminate()
  await ctx.server.close()
  // The layout examples/chat/store.ts wrote at version 1: sends inserted into the indexed table directly.
  const file = join(ctx.dir, 'chat-v1.db')
  const db = new Sqlite(file)
  db.exec(`
    CREATE TABLE conversations (id INTEGER PRIMARY KEY, pair TEXT NOT NULL UNIQUE) STRICT;
    CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation INTEGER NOT NULL, sender TEXT NOT NULL,
      recipient TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
    CREATE INDEX messages_by_conversation ON messages (conversation, id);
    CREATE TABLE read_markers (reader TEXT NOT NULL, conversation TEXT NOT NULL, up_to INTEGER NOT NULL, PRIMARY KEY (reader, conversation)) STRICT;
    PRAGMA user_version = 1;
  `)
  const pair = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`)
  db.prepare('INSERT INTO conversations (id, pair) VALUES (1, ?), (2, ?)').run(pair(juliet, romeo), pair(mercutio, juliet))
  const insert = db.prepare('INSERT INTO messages (id, conversation, sender, recipient, text, at) VALUES (?, ?, ?, ?, ?, 1)')
  insert.run(20, 1, juliet, romeo, 'v1 first')
  insert.run(21, 2, mercutio, juliet, 'elsewhere')
  insert.run(22, 1, romeo, juliet, 'v1 second')
  // A deleted message's ID (AUTOINCREMENT remembers it) is not handed out again either.
  insert.run(30, 1, romeo, juliet, 'deleted')
  db.exec('DELETE FROM messages WHERE id = 30')
  db.prepare('INSERT INTO read_markers VALUES (?, ?, 20)').run(romeo, pair(juliet, romeo))
  db.close()
  ctx.server = await start(ctx, file)
  const r = await device(ctx, 'romeo')
  const { messages, read } = await ask(r, 'chat:history', { with: juliet })
  assert.equal(messages.map((m: { messageID: number; text: string }) => [m.messageID, m.text]), [[22, 'v1 second'], [20, 'v1 first']])
  assert.equal(read, { mine: 20, theirs: 0 })
  const sent = await ask(r, 'chat:send', { to: juliet, text: 'new' })
  assert.is(sent.messageID, 31, 'a new message\'s ID follows every ID handed out before')
  assert.equal((await ask(r, 'chat:history', { with: juliet, limit: 2 })).messages.map((m: { text: string }) => m.text), ['new', 'v1 second'])
  assert.equal(await ask(r, 'chat:read', { with: juliet, upTo: 1000 }), { upTo: 31 }, 'clamped to the new, not yet merged, message')
  const m = await device(ctx, 'mercutio')
  assert.equal((await ask(m, 'chat:history', { with: juliet })).messages.map((x: { text: string }) => x.text), ['elsewhere'])
  for (const client of ctx.clients) client.terminate()
  await ctx.server.close()
  const after = new Sqlite(file, { readonly: true })
  assert.is(after.pragma('user_version', { simple: true }), 2)
  assert.equal(after.prepare('SELECT id FROM messages ORDER BY id').pluck().all(), [20, 21, 22, 31], 'merged on close, IDs kept')
  after.close()
  ctx.server = await start(ctx, file)
})

test('refusals: over 4,000 characters → invalid_payload; anonymous → auth_required; nobody → unknown_user', async (ctx) => {
  const j = await device(ctx, 'juliet')
  const long = await request(j, 'chat:send', { to: romeo, text: 'x'.repeat(4001) })
  assert.equal(long.payload, {
    errID: 'invalid_payload',
    errText: errors.invalid_payload,
    errPayload: { errors: [{ path: '/payload/text', message: 'must NOT have more than 4000 characters' }] },
  })
  assert.is((await request(j, 'chat:send', { to: romeo, text: 'x'.repeat(4000) })).ok, true, 'exactly 4,000 is fine')
  const anonymous = await request(await open(ctx), 'chat:send', { to: romeo, text: 'hi' })
  assert.equal(anonymous.payload, { errID: 'auth_required', errText: errors.auth_required })
  const nobody = await request(j, 'chat:send', { to: '@rosaline@localhost', text: 'hi' })
  assert.equal(nobody.payload, { errID: 'unknown_user', errText: 'No such user', errPayload: { userID: '@rosaline@localhost' } })
  assert.is((await request(j, 'chat:send', { to: 'romeo', text: 'hi' })).payload.errID, 'invalid_payload', 'a user ID, not a username')
})

test('a handler throwing a plain Error answers internal_error and the connection stays usable', async (ctx) => {
  const j = await device(ctx, 'juliet')
  assert.equal((await request(j, 'probe:crash', {})).payload, { errID: 'internal_error', errText: errors.internal_error })
  assert.is((await request(j, 'chat:send', { to: romeo, text: 'still here' })).ok, true)
})

test('chat:send is rate limited per user (chat_send_user in the example config), across devices', async (ctx) => {
  const [b1, b2] = [await device(ctx, 'benvolio'), await device(ctx, 'benvolio')]
  const { capacity } = ctx.server.deps.config.ratelimit.rules.chat_send_user!
  for (let i = 0; i < capacity; i++) await ask(i % 2 ? b1 : b2, 'chat:send', { to: romeo, text: `${i}` })
  const limited = await request(b2, 'chat:send', { to: romeo, text: 'one more' })
  assert.is(limited.payload.errID, 'ratelimit_exceed')
  assert.ok(limited.payload.errPayload.retryAfter > 0)
  assert.is((await request(await device(ctx, 'juliet'), 'chat:send', { to: romeo, text: 'others are not limited' })).ok, true)
})

test('acknowledged sends survive kill -9 before the log is merged: history has them after a restart, in order', async (ctx) => {
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
  assert.is(crashed.prepare('SELECT count(*) FROM message_log').pluck().get(), 5, 'the sends were in the log, not merged, at the kill')
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
  assert.equal([merged.prepare('SELECT count(*) FROM message_log').pluck().get(), merged.prepare('SELECT count(*) FROM messages').pluck().get()], [0, 5])
  merged.close()
})

test('hafnium serve --config examples/chat/server.config.json runs it', async (ctx) => {
  process.env.HAFNIUM_CHAT_DB = join(ctx.dir, 'cli-chat.db')
  const cli = runCli(['serve', '--config', exampleConfig, '--port', '0', '--db', join(ctx.dir, 'cli.db')])
  try {
    const url = await within(cli.ready, 20_000, 'the chat server to listen')
    const c = await within(connect(url), 5000, 'a connection')
    ctx.clients.push(c)
    const info = await ask(c, 'server:info')
    for (const type of ['chat:send', 'chat:history', 'chat:read']) assert.ok(info.types.includes(type), type)
    assert.is((await request(c, 'chat:send', { to: romeo, text: 'hi' })).payload.errID, 'auth_required')
  } finally {
    cli.child.kill('SIGTERM')
  }
  const exited = await within(cli.exited, 10_000, 'the chat server to exit')
  assert.is(exited.code, 0, exited.stderr)
})

test.run()
