// Transport limits, smoke tier: the auth deadline, per-IP connection caps, the outbound cap and the
// fragment cap. Outcomes only (close codes, HTTP statuses, who is still connected), never durations.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { startTestServer, type TestServer } from '../support/server.ts'
import type { TestClient } from '../support/client.ts'
import { closeCodeIn, deadline, frame, rawUpgrade, tryConnect, until } from './support.ts'

const password = 'balcony-scene-2'

// ---------------------------------------------------------------------------------------------------
const auth = suite<{ t: TestServer }>('hardening: authenticate within server.authTimeoutMs')
auth.before(async (ctx) => {
  ctx.t = await startTestServer({ server: { authTimeoutMs: 750, closeTimeoutMs: 200 } })
})
auth.after(async (ctx) => ctx.t.close())

auth('an anonymous socket is closed with 1008, pings do not extend the deadline', async ({ t }) => {
  const c = await t.connect()
  assert.ok((await c.request('server:ping')).ok)
  const closed = await deadline(c.closed, 10_000, 'auth deadline')
  assert.equal(closed, { code: 1008, reason: 'authentication timeout' })
})

auth('an authenticated socket outlives a socket opened after it', async ({ t }) => {
  const a = await t.connect()
  const reg = await a.request('profile:register', { username: 'juliet', password, loginOnSuccess: true })
  assert.ok(reg.ok, JSON.stringify(reg))
  const b = await t.connect()
  assert.is((await deadline(b.closed, 10_000, 'auth deadline')).code, 1008)
  // b's deadline started after a's would have: had a's timer survived the login, a would be closed by now.
  assert.is(a.ws.readyState, a.ws.OPEN)
  assert.ok((await a.request('server:ping')).ok)
})

auth('after its session is revoked a socket is anonymous again and gets a new deadline', async ({ t }) => {
  const a = await t.connect()
  assert.ok((await a.request('profile:login', { username: 'juliet', password })).ok)
  assert.ok((await a.request('profile:logout', {})).ok)
  assert.is((await deadline(a.closed, 10_000, 'auth deadline after logout')).code, 1008)
})

auth('a peer that never answers the close frame is cut off after server.closeTimeoutMs', async ({ t }) => {
  const socket = await rawUpgrade(t.server.port)
  let read = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => (read = Buffer.concat([read, chunk])))
  // The socket reads but never sends its own close frame: the server must not wait ws's default 30 s.
  await deadline(new Promise((resolve) => socket.once('close', resolve)), 10_000, 'server-side destroy')
  assert.is(closeCodeIn(read), 1008)
})

auth.run()

// ---------------------------------------------------------------------------------------------------
const caps = suite<{ t: TestServer }>('hardening: connections per IP (limits.maxAnonymousPerIP, maxConnectionsPerIP)')
caps.before(async (ctx) => {
  ctx.t = await startTestServer({ limits: { maxAnonymousPerIP: 3, maxConnectionsPerIP: 5 } })
  const c = await ctx.t.connect({ localAddress: '127.0.0.9' })
  assert.ok((await c.request('profile:register', { username: 'romeo', password })).ok)
  c.close()
  await c.closed
  await until(() => ctx.t.server.connections.size === 0, 'registration socket gone')
})
caps.after(async (ctx) => ctx.t.close())

const ip = '127.0.0.2'

caps('past the anonymous cap, then past the total cap, upgrades get 429; other IPs and closes free slots', async ({ t }) => {
  const open: TestClient[] = []
  for (let i = 0; i < 3; i++) open.push(await t.connect({ localAddress: ip }))
  assert.is((await tryConnect(t.url, { localAddress: ip })).status, 429, '4th anonymous')
  // Another address has its own count.
  const other = await tryConnect(t.url, { localAddress: '127.0.0.3' })
  assert.is(other.status, 101)
  other.ws!.terminate()
  // X-Forwarded-For is not trusted: the peer address decides.
  assert.is((await tryConnect(t.url, { localAddress: ip, headers: { 'X-Forwarded-For': '203.0.113.7' } })).status, 429)

  // Authenticating frees anonymous slots but not total ones.
  for (const c of open.slice(0, 2)) assert.ok((await c.request('profile:login', { username: 'romeo', password })).ok)
  open.push(await t.connect({ localAddress: ip }), await t.connect({ localAddress: ip }))
  assert.is((await tryConnect(t.url, { localAddress: ip })).status, 429, '4th anonymous again')
  assert.ok((await open[2]!.request('profile:login', { username: 'romeo', password })).ok)
  assert.is((await tryConnect(t.url, { localAddress: ip })).status, 429, '6th connection')

  // A closed connection gives its slot back.
  open[0]!.close()
  await open[0]!.closed
  await until(() => [...t.server.connections].filter((c) => c.ip === ip).length === 4, 'server saw the close')
  const again = await tryConnect(t.url, { localAddress: ip })
  assert.is(again.status, 101)
  again.ws!.terminate()
})

caps.run()

// ---------------------------------------------------------------------------------------------------
const output = suite<{ t: TestServer }>('hardening: a peer that does not read is terminated (limits.maxBufferedBytes)')
output.before(async (ctx) => {
  ctx.t = await startTestServer({ limits: { maxBufferedBytes: 65536, maxDevicesPerAccount: 1000 } })
})
output.after(async (ctx) => ctx.t.close())

output('a paused reader asking for large replies is terminated (no close frame); others are served', async ({ t }) => {
  const owner = await t.connect()
  const reg = await owner.request('profile:register', { username: 'mercutio', password, loginOnSuccess: true })
  assert.ok(reg.ok, JSON.stringify(reg))
  // 300 devices with long names make each device:list reply ~70 KB; created in the store, no argon2.
  const accountID = (await t.server.store.accounts.byUsername('mercutio'))!.id
  for (let i = 0; i < 300; i++) {
    await t.server.store.devices.create({ accountID, tokenHash: randomBytes(32), name: `device ${i} `.padEnd(128, 'x'), pushToken: null, ip: '127.0.0.1', now: Date.now() })
  }
  const slow = await t.connect({ localAddress: '127.0.0.10' })
  assert.ok((await slow.request('profile:login', { username: 'mercutio', password })).ok)
  slow.ws.pause()
  const onServer = () => [...t.server.connections].some((c) => c.ip === '127.0.0.10')
  // The kernel absorbs a few MiB first. Batches stay under the unanswered-request bound; a ping on
  // another socket paces them.
  for (let batch = 0; batch < 100 && onServer(); batch++) {
    for (let i = 0; i < 16; i++) slow.sendRaw(JSON.stringify({ id: `l${batch}.${i}`, type: 'device:list', to: 'localhost', payload: {} }))
    assert.ok((await owner.request('server:ping')).ok)
  }
  await until(() => !onServer(), 'slow reader dropped')
  slow.ws.resume()
  assert.is((await deadline(slow.closed, 10_000, 'client sees the end')).code, 1006, 'terminated, not closed')
  assert.ok((await owner.request('server:ping')).ok)
})

output.run()

// ---------------------------------------------------------------------------------------------------
const fragments = suite<{ t: TestServer; socket?: Socket }>('hardening: fragments per message (limits.maxFragments)')
fragments.before(async (ctx) => {
  ctx.t = await startTestServer()
})
fragments.after(async (ctx) => ctx.t.close())

/** Sends `text` split into `count` frames (the first text, the rest continuations); returns what came back. */
async function sendFragmented(t: TestServer, text: string, count: number, extraEmpty = 0): Promise<Buffer> {
  const socket = await rawUpgrade(t.server.port)
  let read = Buffer.alloc(0)
  const done = new Promise((resolve) => {
    socket.once('close', resolve)
    socket.on('data', (chunk: Buffer) => {
      read = Buffer.concat([read, chunk])
      if (read.includes('"id":"after"')) resolve(undefined)
    })
  })
  const size = Math.ceil(text.length / count)
  const parts = Array.from({ length: count }, (_, i) => text.slice(i * size, (i + 1) * size))
  const frames = parts.map((part, i) => frame(part, { opcode: i === 0 ? 1 : 0, fin: i === count - 1 && extraEmpty === 0 }))
  for (let i = 0; i < extraEmpty; i++) frames.push(frame('', { opcode: 0, fin: i === extraEmpty - 1 }))
  socket.write(Buffer.concat(frames))
  const ping = frame(JSON.stringify({ id: 'after', type: 'server:ping', to: 'localhost', payload: {} }))
  socket.write(ping)
  await deadline(done, 10_000, 'server answered or closed')
  socket.destroy()
  return read
}

fragments('16 fragments are one message; 17, or 16 plus empty ones, close with 1008', async ({ t }) => {
  const ping = JSON.stringify({ id: 'frag', type: 'server:ping', to: 'localhost', payload: {} })
  const fine = await sendFragmented(t, ping, 16)
  assert.ok(fine.includes('"id":"frag"') && fine.includes('"ok":true'))
  assert.is(closeCodeIn(await sendFragmented(t, ping, 17)), 1008)
  assert.is(closeCodeIn(await sendFragmented(t, ping, 8, 9)), 1008, 'empty fragments count')
})

fragments.run()
