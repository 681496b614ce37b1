// A user's journeys with codes mailed through a real SMTP server: sign up with a code, log in without a
// password, reset a forgotten password, change email, and confirm a pending account.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'
import type { TestClient } from '../support/client.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { startSmtpSink, type SmtpSink } from '../support/smtp.ts'

interface Ctx {
  smtp: SmtpSink
}

const test = suite<Ctx>('journeys with mailed codes')

test.before(async (ctx) => {
  ctx.smtp = await startSmtpSink()
})

test.after(async ({ smtp }) => {
  await smtp.close()
})

function server(ctx: Ctx, overrides: DeepPartial<Config> = {}): Promise<TestServer> {
  return startTestServer({
    ...overrides,
    delivery: { email: { transport: 'smtp', host: '127.0.0.1', port: ctx.smtp.port, secure: false, from: 'noreply@example.org' } },
  })
}

/** The code of the next mail to `address` (the first 6-digit number of its body). */
async function nextCode(ctx: Ctx, address: string): Promise<string> {
  const raw = await ctx.smtp.next(address)
  const body = raw.slice(raw.indexOf('\r\n\r\n'))
  const code = /\b(\d{6})\b/.exec(body)?.[1]
  assert.ok(code, `no code in the mail to ${address}`)
  return code
}

async function ok(client: TestClient, type: string, payload: object) {
  const reply = await client.request(type, payload)
  assert.is(reply.ok, true, `${type}: ${JSON.stringify(reply.payload)}`)
  return reply.payload
}

/** request a code by mail, read it from the SMTP server, trade it for a verificationToken */
async function tokenFor(ctx: Ctx, client: TestClient, purpose: string, email: string): Promise<string> {
  const { verificationID } = await ok(client, 'verification:request', { purpose, thirdPID: email })
  const code = await nextCode(ctx, email)
  return (await ok(client, 'verification:verify', { verificationID, code })).verificationToken
}

test('sign up with a code, log in without a password, reset the password, change email', async (ctx) => {
  const t = await server(ctx)
  const c = await t.connect()
  const signup = await tokenFor(ctx, c, 'signup', 'mercutio@verona.example')
  const registered = await ok(c, 'profile:register', { thirdPIDs: [{ type: 'email', value: 'mercutio@verona.example' }], verificationToken: signup, loginOnSuccess: true })
  assert.is(registered.confirmationRequired, false)
  assert.ok(registered.loginPayload.authToken)

  const other = await t.connect()
  const login = await tokenFor(ctx, other, 'login', 'mercutio@verona.example')
  const session = await ok(other, 'profile:login', { thirdPID: 'mercutio@verona.example', verificationToken: login })
  assert.is(session.userID, registered.userID)

  const reset = await tokenFor(ctx, other, 'reset_password', 'mercutio@verona.example')
  await ok(other, 'profile:reset_password', { thirdPID: 'mercutio@verona.example', verificationToken: reset, newPassword: 'queen-mab-dreams-9' })
  const fresh = await t.connect()
  await ok(fresh, 'profile:login', { thirdPID: 'mercutio@verona.example', password: 'queen-mab-dreams-9' })

  const { sudoToken } = await ok(fresh, 'profile:sudo', { password: 'queen-mab-dreams-9' })
  const bind = await tokenFor(ctx, fresh, 'bind', 'mercutio@mantua.example')
  await ok(fresh, 'profile:bind_thirdpid', { thirdPID: 'mercutio@mantua.example', verificationToken: bind, sudoToken })
  const profile = await ok(fresh, 'profile:get', {})
  assert.is(profile.email, 'mercutio@mantua.example')
  const byNewEmail = await t.connect()
  await ok(byNewEmail, 'profile:login', { thirdPID: 'mercutio@mantua.example', password: 'queen-mab-dreams-9' })
  const byOldEmail = await byNewEmail.request('profile:login', { thirdPID: 'mercutio@verona.example', password: 'queen-mab-dreams-9' })
  assert.is(byOldEmail.payload.errID, 'invalid_creds')
  await t.close()
})

test('verified registration: pending until the mailed confirmation code is verified', async (ctx) => {
  const t = await server(ctx, { registration: { mode: 'verified' } })
  const c = await t.connect()
  const registered = await ok(c, 'profile:register', { username: 'tybalt', password: 'prince-of-cats-7', thirdPIDs: [{ type: 'email', value: 'tybalt@verona.example' }] })
  assert.is(registered.confirmationRequired, true)
  const code = await nextCode(ctx, 'tybalt@verona.example')
  const early = await c.request('profile:login', { username: 'tybalt', password: 'prince-of-cats-7' })
  assert.is(early.payload.errID, 'confirmation_required')
  await ok(c, 'verification:verify', { verificationID: registered.confirmation.verificationID, code })
  await ok(c, 'profile:login', { username: 'tybalt', password: 'prince-of-cats-7' })
  await t.close()
})

test.run()
