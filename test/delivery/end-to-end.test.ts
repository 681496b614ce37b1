// verification:request over the socket → the code arrives at a real SMTP server → verification:verify accepts it.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'
import { startSmtpSink, type SmtpSink } from '../support/smtp.ts'

interface Ctx {
  t: TestServer
  smtp: SmtpSink
}

const test = suite<Ctx>('code delivery end to end')

test.before(async (ctx) => {
  ctx.smtp = await startSmtpSink()
  ctx.t = await startTestServer({
    delivery: { email: { transport: 'smtp', host: '127.0.0.1', port: ctx.smtp.port, secure: false, from: 'noreply@example.org' } },
  })
})

test.after(async ({ t, smtp }) => {
  await t?.close()
  await smtp?.close()
})

test('a requested code is mailed (no drainOnce: the handler wakes the sender) and verifies', async (ctx) => {
  const client = await ctx.t.connect()
  const reply = await client.request('verification:request', { purpose: 'signup', thirdPID: 'romeo@example.org' })
  assert.is(reply.ok, true, JSON.stringify(reply.payload))
  const raw = await ctx.smtp.next('romeo@example.org')
  assert.match(raw, /^To: romeo@example.org\r$/m)
  assert.match(raw, /^Subject: Your localhost sign-up code\r$/m)
  const code = /sign-up code is ([0-9]+)/.exec(raw)?.[1]
  assert.ok(code, 'the code is in the text part')
  const verified = await client.request('verification:verify', { verificationID: reply.payload.verificationID, code })
  assert.is(verified.ok, true, JSON.stringify(verified.payload))
  await ctx.t.server.delivery.drainOnce()
  assert.is(await ctx.t.server.store.outbox.pending(), 0)
  assert.is(ctx.smtp.mails.length, 1)
})

test.run()
