// hafnium/client requests: id matching under concurrency, error mapping, connection errors, timeouts, rate-limit retries.
import { suite } from 'uvu'
import WebSocket from 'ws'
import * as assert from 'uvu/assert'
import * as Package from '@hafnium/client'
import { HafniumClient, HafniumConnectionError, HafniumError } from '../../src/client/index.ts'
import { errors } from '../../src/errors.ts'
import { startTestServer } from '../support/server.ts'
import { open, useClientServer, type ClientSuite } from './fixture.ts'
import { replyTo, startStub } from './stub.ts'

const password = 'balcony-scene-2'
const test = suite<ClientSuite>('client: requests')

useClientServer(test, {
  seed: async (c) => {
    for (let i = 0; i < 5; i++) await c.register(`user${i}`, password, { loginOnSuccess: false })
  },
})

test('connect finds the domain the server answers to (the URL says 127.0.0.1)', async (ctx) => {
  const client = await open(ctx)
  assert.is(client.url.startsWith('ws://127.0.0.1:'), true)
  assert.is(client.domain, 'localhost')
  assert.equal(await client.request('server:ping', {}), {})
})

test('the global WebSocket is used when none is injected (browsers, Deno, Bun, Node ≥ 22)', async (ctx) => {
  const created: string[] = []
  class GlobalWebSocket extends WebSocket {
    constructor(url: string) {
      super(url)
      created.push(url)
    }
  }
  const global = globalThis as { WebSocket?: unknown }
  const saved = global.WebSocket
  global.WebSocket = GlobalWebSocket
  try {
    const client = await HafniumClient.connect(ctx.t.url)
    assert.equal(await client.request('server:ping', {}), {})
    assert.equal(created, [ctx.t.url])
    await client.close()
  } finally {
    if (saved === undefined) delete global.WebSocket
    else global.WebSocket = saved
  }
})

test('@hafnium/client without a global WebSocket and none injected (Node 20) says to pass one', async (ctx) => {
  const global = globalThis as { WebSocket?: unknown }
  const saved = global.WebSocket
  delete global.WebSocket
  try {
    const error = (await Package.HafniumClient.connect(ctx.t.url).catch((e: unknown) => e)) as Error
    assert.instance(error, TypeError)
    assert.match(error.message, 'this runtime has no global WebSocket (Node < 22): pass one')
  } finally {
    global.WebSocket = saved
  }
})

test('50 concurrent requests of mixed types each get their own reply', async (ctx) => {
  const client = await open(ctx, { domain: 'localhost' })
  const asked = Array.from({ length: 50 }, (_, i) =>
    i % 3 === 0 ? client.request('server:ping', {}) : client.request('profile:get', { userID: `@user${i % 5}@localhost` }),
  )
  const replies = await Promise.all(asked)
  replies.forEach((reply, i) => {
    if (i % 3 === 0) assert.equal(reply, {}, `reply ${i}`)
    else assert.is((reply as { userID: string }).userID, `@user${i % 5}@localhost`, `reply ${i}`)
  })
})

test('replies are matched by id, not by order (a server answering in reverse)', async () => {
  const pending: string[] = []
  const stub = await startStub((text, socket) => {
    pending.push(text)
    if (pending.length < 10) return
    for (const frame of pending.reverse()) socket.send(replyTo(frame, true, { echo: JSON.parse(frame).payload.n }))
  })
  const client = await HafniumClient.connect(stub.url, { domain: 'localhost' })
  const replies = await Promise.all(Array.from({ length: 10 }, (_, n) => client.request('test:echo', { n })))
  assert.equal(replies, Array.from({ length: 10 }, (_, n) => ({ echo: n })))
  await client.close()
  await stub.close()
})

test('an error reply rejects with HafniumError: errID, errText, errPayload, the reply', async (ctx) => {
  const client = await open(ctx)
  const refused = await client.request('profile:login', { username: 'user0', password: 'not-the-password' }).catch((e: unknown) => e)
  assert.instance(refused, HafniumError)
  const error = refused as HafniumError
  assert.is(error.errID, 'invalid_creds')
  assert.is(error.errText, errors.invalid_creds)
  assert.is(error.errPayload, undefined)
  assert.is(error.reply.type, 'profile:login')
  assert.is(error.message, `profile:login: invalid_creds: ${errors.invalid_creds}`)

  const invalid = (await client.request('profile:check_username', { username: 'no spaces' }).catch((e: unknown) => e)) as HafniumError
  assert.is(invalid.errID, 'invalid_payload')
  assert.is((invalid.errPayload as { errors: { path: string }[] }).errors[0]!.path, '/payload/username')
  const unhandled = (await client.request('chat:send' as string, {}).catch((e: unknown) => e)) as HafniumError
  assert.is(unhandled.errID, 'unhandled')
  assert.is(client.session, null, 'refusals leave the session alone')
})

test('send() and sendRaw() resolve with the whole reply, ok or not; raw replies with id "" are matched in order', async (ctx) => {
  const client = await open(ctx)
  const reply = await client.send({ type: 'device:list' })
  assert.is(reply.ok, false)
  assert.is((reply.payload as { errID: string }).errID, 'auth_required')
  const [a, b, c] = await Promise.all([client.sendRaw('not json'), client.sendRaw(JSON.stringify({ id: 'x1', type: 'server:ping', to: 'localhost', payload: {} })), client.sendRaw('[]')])
  assert.equal([a.id, a.ok, b.id, b.ok, c.id, c.ok], ['', false, 'x1', true, '', false])
  assert.is((c.payload as { errID: string }).errID, 'malformed_message')
})

/** What browsers and Node's built-in WebSocket report on a failed upgrade: an error event with no detail, then close 1006. */
class SilentWebSocket {
  readyState = 0
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  readonly #ws: WebSocket
  constructor(url: string) {
    this.#ws = new WebSocket(url)
    this.#ws.onerror = () => this.onerror?.({ type: 'error' })
    this.#ws.onopen = () => {
      this.readyState = 1
      this.onopen?.({ type: 'open' })
    }
    this.#ws.onmessage = (event) => this.onmessage?.({ data: event.data })
    this.#ws.onclose = () => {
      this.readyState = 3
      this.onclose?.({ code: 1006, reason: '' })
    }
  }
  send(text: string) {
    this.#ws.send(text)
  }
  close(code?: number, reason?: string) {
    this.#ws.close(code, reason)
  }
}

const failure = async (url: string, options = {}) => (await HafniumClient.connect(url, options).catch((e: unknown) => e)) as HafniumConnectionError

test('a failed connection is code "connect_failed" on every runtime; the cause is added where the runtime tells it', async (ctx) => {
  const down = 'ws://127.0.0.1:1/'
  const wrongPath = `${ctx.t.url}nope`
  // The runtime's own WebSocket (the global one on Node ≥ 22 and in browsers, `ws` on Node 20).
  for (const url of [down, wrongPath]) {
    const error = await failure(url)
    assert.instance(error, HafniumConnectionError)
    assert.equal([error.name, error.code], ['HafniumConnectionError', 'connect_failed'], url)
    assert.ok(error.message.startsWith(`cannot connect to ${url}: `), error.message)
  }
  // A WebSocket that says nothing (browsers, Node's built-in): the same code, a message that says so.
  for (const url of [down, wrongPath]) {
    const error = await failure(url, { WebSocket: SilentWebSocket })
    assert.equal([error.code, error.systemCode, error.status], ['connect_failed', undefined, undefined], url)
    assert.is(error.message, `cannot connect to ${url}: the connection failed (close code 1006; this runtime does not say why: is the server running, the URL right?)`)
  }
  // `ws` (what the CLI injects) tells the cause.
  const refused = await failure(down, { WebSocket })
  assert.equal([refused.code, refused.systemCode, refused.status], ['connect_failed', 'ECONNREFUSED', undefined])
  assert.is(refused.message, 'cannot connect to ws://127.0.0.1:1/: connection refused (is the server running?)')
  const notFound = await failure(wrongPath, { WebSocket })
  assert.equal([notFound.code, notFound.systemCode, notFound.status], ['connect_failed', undefined, 404])
  assert.match(notFound.message, 'the server answered HTTP 404 instead of a WebSocket upgrade (wrong path?)')
  const badUrl = await failure('localhost:7777')
  assert.is(badUrl.code, 'invalid_url')
})

test('a request without a reply times out; after close() requests reject with code "closed"', async () => {
  const stub = await startStub((text, socket) => {
    if (JSON.parse(text).type === 'server:ping') socket.send(replyTo(text, true, {}))
  })
  const client = await HafniumClient.connect(stub.url, { domain: 'localhost', requestTimeoutMs: 20 })
  const late = (await client.request('test:silence', {}).catch((e: unknown) => e)) as HafniumConnectionError
  assert.equal([late.name, late.code], ['HafniumConnectionError', 'timeout'])
  assert.equal(await client.request('server:ping', {}), {}, 'the connection is still usable')
  await client.close()
  assert.is(client.isOpen, false)
  const closed = (await client.request('server:ping', {}).catch((e: unknown) => e)) as HafniumConnectionError
  assert.is(closed.code, 'closed')
  await stub.close()
})

test('retryRateLimited waits errPayload.retryAfter and sends again; a longer wait than maxWaitMs rejects', async () => {
  const t = await startTestServer({ ratelimit: { enabled: true, rules: { register_ip: { capacity: 1, refillPerSecond: 10, captcha: false } } } })
  const client = await HafniumClient.connect(t.url)
  await client.register('first', password, { loginOnSuccess: false })
  const limited = (await client
    .request('profile:register', { username: 'second', password }, { retryRateLimited: { maxWaitMs: 0 } })
    .catch((e: unknown) => e)) as HafniumError
  assert.is(limited.errID, 'ratelimit_exceed')
  assert.ok(limited.retryAfter! > 0 && limited.retryAfter! <= 100, `retryAfter ${limited.retryAfter}`)
  const reply = await client.request('profile:register', { username: 'second', password }, { retryRateLimited: { maxWaitMs: 1000 } })
  assert.is(reply.userID, '@second@localhost')
  await client.close()
  await t.close()
})

test.run()
