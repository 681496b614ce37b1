// examples/chat/store.ts on its own: what its log and merge could get wrong, at the boundary between messages
// merged into the indexed table and messages still in the log (which the server-level tests in chat.test.ts
// cannot place: the merge runs on its own schedule). The store knows no protocol, so it is driven directly.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { openChatStore, type ChatStore } from '../../examples/chat/store.ts'
import { Sqlite } from '../../src/index.ts'
import { within } from '../support/within.ts'

const test = suite<{ dir: string }>('examples/chat store')
test.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-chat-store-'))
})
test.after.each((ctx) => rmSync(ctx.dir, { recursive: true, force: true }))

const a = '@a@x'
const b = '@b@x'
const c = '@c@x'
/** Resolves after the next check phase (where a merge scheduled by the last send runs). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

async function send(store: ChatStore, count: number, from = a, to = b) {
  const ids: number[] = []
  for (let i = 0; i < count; i++) ids.push((await store.add(i % 2 ? to : from, i % 2 ? from : to, `${from}-${to} ${i}`, i)).messageID)
  return ids
}

/** Every page of the conversation, `limit` at a time, as the message IDs of each. */
function pages(store: ChatStore, limit: number, user = a, peer = b) {
  const all: number[][] = []
  let before: number | undefined
  for (;;) {
    const { messages, more } = store.history(user, peer, before, limit)
    all.push(messages.map((m) => m.messageID))
    if (!more) return all
    before = messages.at(-1)!.messageID
  }
}

test('history pages newest first across the merged/logged boundary, each page on either side or straddling it', async (ctx) => {
  const store = openChatStore(join(ctx.dir, 'chat.db'), { mergeAt: 4, mergeAfterMs: 600_000 })
  try {
    const merged = await send(store, 4)
    const elsewhere = await send(store, 2, a, c) // another conversation's IDs in between
    await nextTurn()
    assert.is(store.unmerged(), 0, 'the first 6 merged (mergeAt 4 passed)')
    const logged = await send(store, 3)
    assert.is(store.unmerged(), 3)
    const newestFirst = [...merged, ...logged].reverse()
    for (const limit of [1, 2, 3, 4, 5, 7, 8]) {
      const got = pages(store, limit)
      assert.equal(got.flat(), newestFirst, `limit ${limit}`)
      assert.ok(got.every((page) => page.length > 0 && page.length <= limit), `limit ${limit}: pages ${JSON.stringify(got)}`)
      assert.is(got.length, Math.ceil(newestFirst.length / limit), `limit ${limit}: no empty page at the end`)
    }
    assert.equal(store.history(a, b, logged[1], 2).messages.map((m) => m.messageID), [logged[0], merged[3]], 'before inside the log')
    assert.equal(store.history(a, b, logged[0], 10).messages.map((m) => m.messageID), [...merged].reverse(), 'before at the boundary')
    assert.equal(store.history(b, a, undefined, 1).messages[0], { messageID: logged[2]!, from: a, to: b, text: `${a}-${b} 2`, at: 2 }, 'the same from the other side')
    assert.equal(pages(store, 10, c, a).flat(), [...elsewhere].reverse())
  } finally {
    store.close()
  }
})

test('read markers clamp to the newest message, logged and not yet merged included; the log is merged on close', async (ctx) => {
  const file = join(ctx.dir, 'chat.db')
  let store = openChatStore(file, { mergeAt: 1000, mergeAfterMs: 600_000 })
  const ids = await send(store, 3)
  assert.is(store.unmerged(), 3)
  assert.is(await store.markRead(b, a, 1_000_000), ids[2])
  assert.equal(store.readMarkers(a, b), { mine: 0, theirs: ids[2] })
  store.close()
  const db = new Sqlite(file, { readonly: true })
  assert.equal([db.prepare('SELECT count(*) FROM message_index').pluck().get(), db.prepare('SELECT count(*) FROM messages').pluck().get()], [3, 3])
  db.close()
  store = openChatStore(file, { mergeAt: 1000, mergeAfterMs: 600_000 })
  try {
    const [next] = await send(store, 1)
    assert.is(next, ids[2]! + 1)
    assert.is(await store.markRead(a, b, 1_000_000), next)
    assert.equal(pages(store, 2), [[next!, ids[2]!], [ids[1]!, ids[0]!]])
  } finally {
    store.close()
  }
})

test('the timer merges a quiet log; the sends of one turn share one batch, in order, their IDs consecutive', async (ctx) => {
  const store = openChatStore(join(ctx.dir, 'chat.db'), { mergeAt: 1000, mergeAfterMs: 50 })
  try {
    const sent = await Promise.all([0, 1, 2, 3].map((i) => store.add(i % 2 ? b : a, i % 2 ? a : b, `m${i}`, i)))
    assert.equal(sent.map((m) => m.messageID), [1, 2, 3, 4])
    assert.is(store.unmerged(), 4)
    await within(
      (async () => {
        while (store.unmerged() > 0) await new Promise((resolve) => setTimeout(resolve, 10))
      })(),
      5000,
      'the timer to merge the log',
    )
    assert.equal(store.history(a, b, undefined, 10).messages.map((m) => m.text), ['m3', 'm2', 'm1', 'm0'])
  } finally {
    store.close()
  }
})

test('a second process cannot open a file in use (the store owns its IDs): it fails at open', async (ctx) => {
  const file = join(ctx.dir, 'chat.db')
  const store = openChatStore(file)
  try {
    await send(store, 1)
    assert.throws(() => openChatStore(file), /locked/)
  } finally {
    store.close()
  }
})

test.run()
