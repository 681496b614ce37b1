// Email through a real SMTP server (smtp-server on a loopback ephemeral port): the code arrives; 4xx retried, 5xx final.
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { SMTPServer, type SMTPServerOptions } from 'smtp-server'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createDeliverySender } from '../../src/delivery/sender.ts'
import { openStore } from '../../src/store/index.ts'
import type { OutgoingMessage } from '../../src/store/outbox.ts'
import { manualClock } from '../support/server.ts'
import { capturedLogger, closedPort, deliveryConfig, useTempDir } from './support.ts'

const test = suite<{ dir: string }>('delivery over SMTP')
const t0 = Date.UTC(2026, 0, 1)
const email: OutgoingMessage = { channel: 'email', to: 'juliet@example.org', purpose: 'reset_password', code: '918273' }

useTempDir(test, 'hafnium-smtp-')

interface Mail {
  from: string
  to: string[]
  raw: string
}

/** An SMTP server that needs AUTH (without TLS: loopback only) and keeps what it accepts. */
async function startSmtp(hooks: Partial<Pick<SMTPServerOptions, 'onRcptTo' | 'onData'>> = {}) {
  const mails: Mail[] = []
  let rcpts = 0
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'hafnium' && auth.password === 'smtp-pass') return callback(null, { user: 'hafnium' })
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
    },
    onRcptTo(address, session, callback) {
      rcpts++
      if (hooks.onRcptTo) return hooks.onRcptTo(address, session, callback)
      callback()
    },
    onData(stream, session, callback) {
      if (hooks.onData) return hooks.onData(stream, session, callback)
      let raw = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk) => (raw += chunk))
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw })
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.server.address() as AddressInfo).port
  return { port, mails, rcpts: () => rcpts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

let n = 0
function setup(dir: string, port: number, pass = 'smtp-pass') {
  const path = join(dir, `smtp-${++n}.db`)
  const config = deliveryConfig(path, {
    email: { transport: 'smtp', host: '127.0.0.1', port, secure: false, auth: { user: 'hafnium', pass }, from: 'Hafnium <noreply@example.org>' },
    timeoutMs: 5000,
  })
  const store = openStore(path, config.database)
  const clock = manualClock(t0)
  const captured = capturedLogger()
  const sender = createDeliverySender({ store, config, clock, log: captured.log })
  return {
    store,
    clock,
    sender,
    ...captured,
    async close() {
      await sender.close()
      store.close()
    },
  }
}

/** Undoes quoted-printable (soft line breaks and =XX), enough for the ASCII texts here. */
function decodeQP(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

test('the code arrives at the SMTP server, in the text and the html part, with subject, sender and Auto-Submitted', async ({ dir }) => {
  const smtp = await startSmtp()
  const t = setup(dir, smtp.port)
  t.store.outbox.enqueue(email, t0)
  assert.is(await t.sender.drainOnce(), 1)
  assert.is(smtp.mails.length, 1)
  const [mail] = smtp.mails
  assert.is(mail!.from, 'noreply@example.org')
  assert.equal(mail!.to, ['juliet@example.org'])
  assert.match(mail!.raw, /^Subject: Your localhost password reset code\r$/m)
  assert.match(mail!.raw, /^From: Hafnium <noreply@example.org>\r$/m)
  assert.match(mail!.raw, /^To: juliet@example.org\r$/m)
  assert.match(mail!.raw, /^Auto-Submitted: auto-generated\r$/m)
  const body = decodeQP(mail!.raw)
  assert.match(body, /Content-Type: text\/plain[\s\S]*Your localhost password reset code is 918273/)
  assert.match(body, /Content-Type: text\/html[\s\S]*<strong>918273<\/strong>/)
  assert.is(await t.store.outbox.pending(), 0)
  for (const line of t.lines) assert.not.match(line, /918273|smtp-pass/)
  await t.close()
  await smtp.close()
})

test('a 5xx reply (recipient refused) is final: one attempt, given up', async ({ dir }) => {
  const smtp = await startSmtp({
    onRcptTo: (_address, _session, callback) => callback(Object.assign(new Error('No such user'), { responseCode: 550 })),
  })
  const t = setup(dir, smtp.port)
  t.store.outbox.enqueue(email, t0)
  assert.is(await t.sender.drainOnce(), 0)
  t.clock.advance(86_400_000)
  assert.is(await t.sender.drainOnce(), 0)
  assert.is(smtp.rcpts(), 1)
  assert.is(await t.store.outbox.pending(), 0)
  const given = t.messages().find((m) => m.msg === 'delivery given up')
  assert.match(String(given?.error), /^SMTP 550: /)
  await t.close()
  await smtp.close()
})

test('a 4xx reply is retried after the backoff, and the retry is delivered once', async ({ dir }) => {
  let calls = 0
  const smtp = await startSmtp({
    onData(stream, _session, callback) {
      stream.resume()
      stream.on('end', () => (++calls === 1 ? callback(Object.assign(new Error('Try again later'), { responseCode: 451 })) : callback()))
    },
  })
  const t = setup(dir, smtp.port)
  t.store.outbox.enqueue(email, t0)
  assert.is(await t.sender.drainOnce(), 0)
  assert.is(await t.store.outbox.pending(), 1)
  t.clock.advance(1000)
  assert.is(await t.sender.drainOnce(), 1)
  assert.is(calls, 2)
  assert.is(await t.store.outbox.pending(), 0)
  await t.close()
  await smtp.close()
})

test('wrong credentials (535) are final; an unreachable server is retried', async ({ dir }) => {
  const smtp = await startSmtp()
  const wrong = setup(dir, smtp.port, 'not-the-pass')
  wrong.store.outbox.enqueue(email, t0)
  await wrong.sender.drainOnce()
  assert.is(await wrong.store.outbox.pending(), 0)
  assert.match(String(wrong.messages().find((m) => m.msg === 'delivery given up')?.error), /^SMTP 535/)
  for (const line of wrong.lines) assert.not.match(line, /not-the-pass/)
  await wrong.close()
  await smtp.close()

  const down = setup(dir, await closedPort())
  down.store.outbox.enqueue(email, t0)
  await down.sender.drainOnce()
  assert.is(await down.store.outbox.pending(), 1)
  assert.match(String(down.messages().find((m) => m.msg === 'delivery failed; will retry')?.error), /^SMTP E[A-Z]+: connect ECONNREFUSED/)
  await down.close()
})

test.run()
