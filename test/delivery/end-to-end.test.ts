// verification:request over the socket → the code arrives at a real SMTP server → verification:verify accepts it.
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'
import { within } from './support.ts'

interface Ctx {
  t: TestServer
  smtp: SMTPServer
  mails: string[]
  waiting: ((raw: string) => void)[]
}

const test = suite<Ctx>('code delivery end to end')

test.before(async (ctx) => {
  ctx.mails = []
  ctx.waiting = []
  ctx.smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      let raw = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk) => (raw += chunk))
      stream.on('end', () => {
        ctx.mails.push(raw)
        ctx.waiting.shift()?.(raw)
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => ctx.smtp.listen(0, '127.0.0.1', resolve))
  const port = (ctx.smtp.server.address() as AddressInfo).port
  ctx.t = await startTestServer({
    delivery: { email: { transport: 'smtp', host: '127.0.0.1', port, secure: false, from: 'noreply@example.org' } },
  })
})

test.after(async ({ t, smtp }) => {
  await t.close()
  await new Promise<void>((resolve) => smtp.close(() => resolve()))
})

test('a requested code is mailed (no drainOnce: the handler wakes the sender) and verifies', async (ctx) => {
  const arrived = new Promise<string>((resolve) => ctx.waiting.push(resolve))
  const client = await ctx.t.connect()
  const reply = await client.request('verification:request', { purpose: 'signup', thirdPID: 'romeo@example.org' })
  assert.is(reply.ok, true, JSON.stringify(reply.payload))
  const raw = await within(20_000, arrived, 'the mail')
  assert.match(raw, /^To: romeo@example.org\r$/m)
  assert.match(raw, /^Subject: Your localhost sign-up code\r$/m)
  const code = /sign-up code is ([0-9]+)/.exec(raw)?.[1]
  assert.ok(code, 'the code is in the text part')
  const verified = await client.request('verification:verify', { verificationID: reply.payload.verificationID, code })
  assert.is(verified.ok, true, JSON.stringify(verified.payload))
  await ctx.t.server.delivery.drainOnce()
  assert.is(await ctx.t.server.store.outbox.pending(), 0)
  assert.is(ctx.mails.length, 1)
})

test.run()
