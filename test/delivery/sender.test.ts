// The sender over a real SQLite file and a hand-driven clock: console/outboxFile, webhook retries, give-ups, wake, close.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createDeliverySender, type DeliverySenderOptions } from '../../src/delivery/sender.ts'
import { DeliveryError, type RenderedMessage, type Transport } from '../../src/delivery/message.ts'
import { renderMessage } from '../../src/delivery/templates.ts'
import { createConsoleTransport } from '../../src/delivery/transports/console.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import type { OutgoingMessage } from '../../src/store/outbox.ts'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'
import { manualClock } from '../support/server.ts'
import { capturedLogger, closedPort, deferred, deliveryConfig, startReceiver, useTempDir } from './support.ts'

const test = suite<{ dir: string }>('delivery sender')
const t0 = Date.UTC(2026, 0, 1)
const email: OutgoingMessage = { channel: 'email', to: 'juliet@example.org', purpose: 'signup', code: '918273' }
const sms: OutgoingMessage = { channel: 'msisdn', to: '+33612345678', purpose: 'login', code: '564738' }

useTempDir(test, 'hafnium-sender-')

let dbCounter = 0

/** A fresh store file, a sender on a manual clock, and the captured log. */
function setup(dir: string, delivery: DeepPartial<Config['delivery']> = {}, transports?: DeliverySenderOptions['transports']) {
  const path = join(dir, `sender-${++dbCounter}.db`)
  const config = deliveryConfig(path, delivery)
  const store = openStore(path, config.database)
  const clock = manualClock(t0)
  const { log, lines, messages } = capturedLogger()
  const sender = createDeliverySender({ store, config, clock, log, transports })
  return {
    store,
    clock,
    sender,
    lines,
    messages,
    async close() {
      await sender.close()
      store.close()
    },
  }
}

/** A transport that records what it is handed and answers from a script of outcomes. */
function scripted(outcomes: (Error | 'ok')[] = ['ok']) {
  const sent: RenderedMessage[] = []
  const transport: Transport = {
    async send(message) {
      sent.push(message)
      const outcome = outcomes[Math.min(sent.length, outcomes.length) - 1]!
      if (outcome !== 'ok') throw outcome
    },
  }
  return { sent, transport }
}

test('console transport: prints, and appends the contract JSON line to outboxFile', async ({ dir }) => {
  const outboxFile = join(dir, 'out', 'codes.jsonl')
  const printed: string[] = []
  const printer = createConsoleTransport({ outboxFile, print: (line) => printed.push(line) })
  const t = setup(dir, { outboxFile }, { email: printer, msisdn: printer })
  t.store.outbox.enqueue(email, t0)
  t.store.outbox.enqueue(sms, t0)
  t.clock.advance(5)
  assert.is(await t.sender.drainOnce(), 2)
  assert.is((await t.store.outbox.pending()), 0)
  assert.equal(printed, [
    '[hafnium delivery] email to juliet@example.org (signup): code 918273',
    '[hafnium delivery] msisdn to +33612345678 (login): code 564738',
  ])
  const lines = readFileSync(outboxFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
  assert.equal(lines, [
    {
      channel: 'email',
      to: 'juliet@example.org',
      purpose: 'signup',
      code: '918273',
      text: 'Your localhost sign-up code is 918273\n\nIf you did not ask for it, ignore this message: nothing happens without the code.\n',
      at: t0 + 5,
    },
    { channel: 'msisdn', to: '+33612345678', purpose: 'login', code: '564738', text: '564738 is your localhost sign-in code', at: t0 + 5 },
  ])
  assert.is(await t.sender.drainOnce(), 0, 'nothing is sent twice')
  for (const line of t.lines) assert.not.match(line, /918273|564738/, 'the code is never logged')
  assert.equal(
    t.messages().filter((m) => m.msg === 'delivered').map(({ channel, attempts }) => ({ channel, attempts })).sort((a, b) => String(a.channel).localeCompare(String(b.channel))),
    [
      { channel: 'email', attempts: 1 },
      { channel: 'msisdn', attempts: 1 },
    ],
  )
  await t.close()
})

test('the configured console transport writes outboxFile too (the development default)', async ({ dir }) => {
  const outboxFile = join(dir, 'default.jsonl')
  const t = setup(dir, { outboxFile })
  t.store.outbox.enqueue({ ...sms, code: '111222' }, t0)
  assert.is(await t.sender.drainOnce(), 1)
  assert.is(JSON.parse(readFileSync(outboxFile, 'utf8')).code, '111222')
  await t.close()
})

test('templates: placeholders replaced once, purpose names from config, values HTML-escaped in html only', () => {
  const templates = {
    email: { subject: '{server}: {purpose}', text: '{purpose} {code} {unknown}', html: '<b>{purpose}</b> {code}' },
    sms: { text: '{code}/{server}' },
    purposes: { signup: 'sign-up & <welcome> {code}' },
  }
  const mail = renderMessage(email, templates, 'example.org', t0)
  assert.equal(mail, {
    channel: 'email',
    to: 'juliet@example.org',
    purpose: 'signup',
    code: '918273',
    at: t0,
    subject: 'example.org: sign-up & <welcome> {code}',
    text: 'sign-up & <welcome> {code} 918273 {unknown}',
    html: '<b>sign-up &#38; &#60;welcome&#62; {code}</b> 918273',
  })
  assert.equal(renderMessage({ ...sms, purpose: 'unlisted' }, templates, 'example.org', t0).text, '564738/example.org')
  assert.is(renderMessage({ ...email, purpose: 'toString' }, templates, 'x', t0).subject, 'x: toString', 'only own keys name a purpose')
})

test('webhook fails twice (500, 503) then succeeds: retried with backoff, delivered exactly once', async ({ dir }) => {
  const receiver = await startReceiver([500, 503, 200])
  const t = setup(dir, {
    sms: { transport: 'webhook', url: receiver.url, headers: { Authorization: 'Bearer gateway-secret' } },
    retry: { baseMs: 1000, maxMs: 60000, maxAttempts: 5 },
  })
  /** After `ms` more, a drain delivers `delivered` messages and the gateway has seen `posts` requests in all. */
  const after = async (ms: number, delivered: number, posts: number, message?: string) => {
    t.clock.advance(ms)
    assert.is(await t.sender.drainOnce(), delivered)
    assert.is(receiver.received.length, posts, message)
  }
  t.store.outbox.enqueue(sms, t0)
  await after(0, 0, 1)
  await after(999, 0, 1, 'not before the first backoff (1 s) has passed')
  await after(1, 0, 2)
  await after(1999, 0, 2, 'the second backoff is 2 s')
  await after(1, 1, 3)
  assert.is((await t.store.outbox.pending()), 0)
  t.clock.advance(86_400_000)
  assert.is(await t.sender.drainOnce(), 0)
  assert.equal(receiver.received.map((r) => r.status), [500, 503, 200], 'exactly one accepted delivery, nothing after it')

  const bodies = receiver.received.map((r) => JSON.parse(r.body))
  assert.equal(bodies[2], { channel: 'msisdn', to: '+33612345678', purpose: 'login', code: '564738', text: '564738 is your localhost sign-in code', at: t0 + 3000 })
  assert.equal(bodies.map((b) => b.at), [t0, t0 + 1000, t0 + 3000])
  assert.is(receiver.received[0]!.headers['content-type'], 'application/json')
  assert.is(receiver.received[0]!.headers.authorization, 'Bearer gateway-secret')
  assert.equal(
    t.messages().filter((m) => m.outboxID !== undefined).map(({ msg, attempts, retryInMs, error }) => ({ msg, attempts, retryInMs, error })),
    [
      { msg: 'delivery failed; will retry', attempts: 1, retryInMs: 1000, error: 'webhook answered 500' },
      { msg: 'delivery failed; will retry', attempts: 2, retryInMs: 2000, error: 'webhook answered 503' },
      { msg: 'delivered', attempts: 3, retryInMs: undefined, error: undefined },
    ],
  )
  for (const line of t.lines) assert.not.match(line, /564738|gateway-secret/)
  await t.close()
  await receiver.close()
})

test('webhook 4xx: given up after one attempt, never retried', async ({ dir }) => {
  const receiver = await startReceiver([400])
  const t = setup(dir, { sms: { transport: 'webhook', url: receiver.url } })
  t.store.outbox.enqueue(sms, t0)
  assert.is(await t.sender.drainOnce(), 0)
  t.clock.advance(86_400_000)
  assert.is(await t.sender.drainOnce(), 0)
  assert.is(receiver.received.length, 1)
  assert.is((await t.store.outbox.pending()), 0)
  const given = t.messages().find((m) => m.msg === 'delivery given up')
  assert.equal({ attempts: given?.attempts, error: given?.error, level: given?.level }, { attempts: 1, error: 'webhook answered 400', level: 50 })
  await t.close()
  await receiver.close()
})

test('webhook 429 is retried like a 5xx', async ({ dir }) => {
  const receiver = await startReceiver([429, 204])
  const t = setup(dir, { sms: { transport: 'webhook', url: receiver.url } })
  t.store.outbox.enqueue(sms, t0)
  assert.is(await t.sender.drainOnce(), 0)
  t.clock.advance(1000)
  assert.is(await t.sender.drainOnce(), 1)
  assert.equal(receiver.received.map((r) => r.status), [429, 204])
  await t.close()
  await receiver.close()
})

test('network errors are retried, the delay doubles up to maxMs, and maxAttempts gives up', async ({ dir }) => {
  const port = await closedPort()
  const t = setup(dir, {
    sms: { transport: 'webhook', url: `http://127.0.0.1:${port}/sms` },
    retry: { baseMs: 1000, maxMs: 1500, maxAttempts: 3 },
  })
  t.store.outbox.enqueue(sms, t0)
  await t.sender.drainOnce()
  assert.equal((await t.store.outbox.due(t0 + 999, 10)), [])
  t.clock.advance(1000)
  await t.sender.drainOnce()
  assert.equal((await t.store.outbox.due(t0 + 2499, 10)), [], 'the second delay is capped at 1.5 s, not 2 s')
  assert.is((await t.store.outbox.due(t0 + 2500, 10)).length, 1)
  t.clock.advance(1500)
  await t.sender.drainOnce()
  assert.is((await t.store.outbox.pending()), 0, 'given up after the third attempt')
  assert.equal(
    t.messages().filter((m) => m.outboxID !== undefined).map(({ msg, attempts }) => `${msg} #${attempts}`),
    ['delivery failed; will retry #1', 'delivery failed; will retry #2', 'delivery given up #3'],
  )
  assert.match(String(t.messages()[0]!.error), /^webhook unreachable: ECONNREFUSED/)
  await t.close()
})

test('an unknown error from a transport is retried; a DeliveryError that is not retryable is not', async ({ dir }) => {
  const flaky = scripted([new Error('boom'), 'ok'])
  const refusing = scripted([new DeliveryError('SMTP 550: no such user', false)])
  const t = setup(dir, {}, { msisdn: flaky.transport, email: refusing.transport })
  t.store.outbox.enqueue(sms, t0)
  t.store.outbox.enqueue(email, t0)
  assert.is(await t.sender.drainOnce(), 0)
  t.clock.advance(1000)
  assert.is(await t.sender.drainOnce(), 1)
  assert.is(flaky.sent.length, 2)
  assert.is(refusing.sent.length, 1)
  assert.is((await t.store.outbox.pending()), 0)
  await t.close()
})

test('a message whose code has expired (verification.codeTtl) is dropped unsent', async ({ dir }) => {
  const transport = scripted()
  const t = setup(dir, {}, { email: transport.transport })
  t.store.outbox.enqueue(email, t0)
  t.clock.advance(600_000)
  assert.is(await t.sender.drainOnce(), 0)
  assert.is(transport.sent.length, 0)
  assert.is((await t.store.outbox.pending()), 0)
  assert.ok(t.messages().some((m) => m.msg === 'delivery given up: the code expired before it could be sent'))
  await t.close()
})

test('wake() and the start-up drain send without drainOnce; concurrent drains never send a message twice', async ({ dir }) => {
  const arrived = deferred<RenderedMessage>()
  const sent: RenderedMessage[] = []
  const transport: Transport = {
    async send(message) {
      sent.push(message)
      arrived.resolve(message)
    },
  }
  // Left by a previous run: the sender's first drain (at creation) finds it.
  const path = join(dir, 'startup.db')
  const config = deliveryConfig(path)
  const store = openStore(path, config.database)
  store.outbox.enqueue(email, t0)
  const sender = createDeliverySender({ store, config, clock: manualClock(t0), log: capturedLogger().log, transports: { email: transport } })
  assert.is((await arrived.promise).code, '918273')

  store.outbox.enqueue({ ...email, code: '222333' }, t0)
  store.outbox.enqueue({ ...email, code: '444555' }, t0)
  sender.wake()
  sender.wake()
  const counts = await Promise.all([sender.drainOnce(), sender.drainOnce(), sender.drainOnce()])
  await sender.drainOnce()
  assert.equal(sent.map((m) => m.code).sort(), ['222333', '444555', '918273'])
  assert.ok(counts.reduce((a, b) => a + b, 0) <= 2)
  assert.is((await store.outbox.pending()), 0)
  await sender.close()
  store.close()
})

test('close() waits for the send in flight and records it; afterwards nothing is sent', async ({ dir }) => {
  const started = deferred()
  const release = deferred()
  const sent: string[] = []
  const transport: Transport = {
    async send(message) {
      started.resolve()
      await release.promise
      sent.push(message.code)
    },
  }
  const t = setup(dir, {}, { email: transport })
  t.store.outbox.enqueue(email, t0)
  const draining = t.sender.drainOnce()
  await started.promise
  let closed = false
  const closing = t.sender.close().then(() => (closed = true))
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(closed, false, 'close() is still waiting for the send')
  release.resolve()
  await closing
  assert.is(await draining, 1)
  assert.is((await t.store.outbox.pending()), 0, 'the send was recorded before the store could close')
  t.store.outbox.enqueue({ ...email, code: '999000' }, t0)
  t.sender.wake()
  assert.is(await t.sender.drainOnce(), 0)
  assert.equal(sent, ['918273'])
  t.store.close()
})

test.run()
