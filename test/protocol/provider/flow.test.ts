// The whole OpenID Connect sign-in against a real OpenID Provider (oidc-provider on loopback): auth URL,
// the provider's login, the redirect's code, provider:grant, profile:login {providerToken} (contract §15).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server, type Socket } from 'node:net'
import { requestOk } from '../../support/accounts.ts'
import { ConfigError, loadConfig } from '../../../src/config.ts'
import { within } from '../../support/within.ts'
import { grantFor, startTestProvider, type TestProvider } from '../../support/oidc-provider.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const test = suite<{ t: TestServer; op: TestProvider; silent: Server; held: Socket[] }>('provider sign-in')

/** A loopback port nothing listens on: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

test.before(async (ctx) => {
  ctx.op = await startTestProvider()
  const down = `http://127.0.0.1:${await closedPort()}`
  // Accepts connections and never answers: only the timeout ends a request to it.
  ctx.held = []
  ctx.silent = createServer((socket) => void ctx.held.push(socket))
  await new Promise<void>((resolve) => ctx.silent.listen(0, '127.0.0.1', resolve))
  const silent = `http://127.0.0.1:${(ctx.silent.address() as { port: number }).port}`
  ctx.t = await startTestServer({
    providers: {
      test: ctx.op.config(),
      manual: ctx.op.config({ autoCreate: false }),
      down: { ...ctx.op.config(), issuer: down },
      posted: ctx.op.config({ responseMode: 'form_post', scopes: ['email'] }),
      silent: { ...ctx.op.config(), issuer: silent, timeoutMs: 1000 },
      misconfigured: ctx.op.config({ clientSecret: 'not-the-registered-secret' }),
    },
  })
})
test.after(async (ctx) => {
  await ctx.t.close()
  await ctx.op.close()
  for (const socket of ctx.held) socket.destroy()
  await new Promise<void>((resolve) => ctx.silent.close(() => resolve()))
})

test('auth URL, provider login, grant, login: a new account with the verified email, then the same account again', async ({ t, op }) => {
  op.accounts.set('alice-1', { email: 'alice@example.org', email_verified: true, name: 'Alice' })
  const client = await t.connect()
  const start = await requestOk(client, 'provider:auth_url', { providerID: 'test' })
  assertValidReply('provider:auth_url', start)
  const url = new URL(start.payload.url)
  assert.is(url.origin, op.issuer)
  assert.is(url.searchParams.get('code_challenge_method'), 'S256')
  assert.ok(url.searchParams.get('nonce'))
  assert.is(url.searchParams.get('state'), start.payload.state)
  const back = await op.signIn(start.payload.url, 'alice-1')
  const grant = await requestOk(client, 'provider:grant', { providerID: 'test', code: back.get('code'), state: back.get('state') })
  assertValidReply('provider:grant', grant)
  assert.equal(grant.payload.profile, { sub: 'alice-1', email: 'alice@example.org', email_verified: true, name: 'Alice' })
  assert.is(grant.payload.linked, false)
  assert.is(grant.payload.expiresIn, 600)
  const login = await requestOk(client, 'profile:login', { providerToken: grant.payload.providerToken, deviceName: 'phone' })
  assertValidReply('profile:login', login)
  const own = await requestOk(client, 'profile:get', {})
  assertValidReply('profile:get', own)
  assert.is(own.payload.email, 'alice@example.org')
  assert.is(own.payload.name, 'Alice')
  assert.equal(own.payload.providers, [{ providerID: 'test', sub: 'alice-1', email: 'alice@example.org' }])

  // The second sign-in finds the linked account.
  const again = await t.connect()
  const start2 = await requestOk(again, 'provider:auth_url', { providerID: 'test' })
  const back2 = await op.signIn(start2.payload.url, 'alice-1')
  const grant2 = await requestOk(again, 'provider:grant', { providerID: 'test', code: back2.get('code'), state: back2.get('state') })
  assert.is(grant2.payload.linked, true)
  const login2 = await requestOk(again, 'profile:login', { providerToken: grant2.payload.providerToken })
  assert.is(login2.payload.userID, login.payload.userID)
})

const invalidToken = (reply: { ok: boolean; payload: { errID?: string } }) => {
  assert.is(reply.ok, false, JSON.stringify(reply.payload))
  assert.is(reply.payload.errID, 'invalid_token')
}

test('config: an http:// issuer only on loopback; server:info lists the providerIDs', async ({ t }) => {
  const provider = { clientID: 'c', clientSecret: 's', redirectURI: 'https://app.example/cb' }
  for (const issuer of ['http://id.example.com', 'http://10.0.0.1:8080', 'ftp://id.example.com', 'not a url']) {
    assert.throws(() => loadConfig({ overrides: { providers: { x: { ...provider, issuer } } } }), (e: unknown) => e instanceof ConfigError && /providers\.x\.issuer/.test(e.message), issuer)
  }
  for (const issuer of ['https://id.example.com', 'http://127.0.0.1:8080', 'http://localhost:8080/realms/dev', 'http://[::1]:8080']) {
    loadConfig({ overrides: { providers: { x: { ...provider, issuer } } } })
  }
  assert.throws(() => loadConfig({ overrides: { providers: { x: { ...provider, issuer: 'https://id.example.com', redirectURI: 'nope' } } } }), /providers\.x\.redirectURI/)
  const info = await requestOk(await t.connect(), 'server:info')
  assert.equal(info.payload.features.providers, ['down', 'manual', 'misconfigured', 'posted', 'silent', 'test'])
})

test('the authorization URL: configured scopes (openid always) and response mode', async ({ t }) => {
  const client = await t.connect()
  const plain = new URL((await requestOk(client, 'provider:auth_url', { providerID: 'test' })).payload.url)
  assert.is(plain.searchParams.get('scope'), 'openid email profile')
  assert.is(plain.searchParams.get('response_mode'), null)
  assert.is(plain.searchParams.get('response_type'), 'code')
  const posted = new URL((await requestOk(client, 'provider:auth_url', { providerID: 'posted' })).payload.url)
  assert.is(posted.searchParams.get('scope'), 'openid email')
  assert.is(posted.searchParams.get('response_mode'), 'form_post')
})

test('response mode form_post: the code and state the provider POSTs to the redirect URI redeem the same way', async ({ t, op }) => {
  op.accounts.set('posted-1', { email: 'posted@example.org', email_verified: true })
  const client = await t.connect()
  const { reply } = await grantFor(client, op, 'posted-1', { providerID: 'posted' })
  assert.ok(reply.ok, JSON.stringify(reply.payload))
  assert.equal(reply.payload.profile, { sub: 'posted-1', email: 'posted@example.org', email_verified: true })
})

test('an unknown providerID is not_found, for auth_url and grant', async ({ t }) => {
  const client = await t.connect()
  assert.is((await client.request('provider:auth_url', { providerID: 'nope' })).payload.errID, 'not_found')
  assert.is((await client.request('provider:grant', { providerID: 'nope', code: 'x', state: 'y' })).payload.errID, 'not_found')
})

test('a provider that refuses connections: provider_unavailable, quickly, and the connection stays usable', async ({ t }) => {
  const client = await t.connect()
  const started = Date.now()
  const reply = await within(client.request('provider:auth_url', { providerID: 'down' }), 12_000, 'provider:auth_url to a provider that is down')
  assert.is(reply.payload.errID, 'provider_unavailable', JSON.stringify(reply.payload))
  assert.ok(Date.now() - started < 11_000, 'answered within the provider timeout')
  await requestOk(client, 'server:ping')
})

test('a provider that accepts connections and never answers: provider_unavailable after its timeoutMs', async ({ t }) => {
  const client = await t.connect()
  const started = Date.now()
  const reply = await within(client.request('provider:auth_url', { providerID: 'silent' }), 10_000, 'provider:auth_url to a provider that never answers')
  const took = Date.now() - started
  assert.is(reply.payload.errID, 'provider_unavailable', JSON.stringify(reply.payload))
  assert.ok(took >= 900 && took < 8000, `answered after the 1 s timeout, not before and not much later (${took} ms)`)
})

test('a provider that refuses the server\'s client credentials: provider_unavailable (a config error), not invalid_token', async ({ t, op }) => {
  op.accounts.set('secret-1', {})
  const client = await t.connect()
  const { reply } = await grantFor(client, op, 'secret-1', { providerID: 'misconfigured' })
  assert.is(reply.payload.errID, 'provider_unavailable', JSON.stringify(reply.payload))
})

test('an ID token whose signature was altered is invalid_token', async ({ t, op }) => {
  op.accounts.set('tamper-1', { email: 'tamper@example.org', email_verified: true })
  const client = await t.connect()
  op.tamperToken = (body) => {
    const [head, payload, signature] = String(body.id_token).split('.')
    const middle = Math.floor(signature!.length / 2)
    const flipped = signature![middle] === 'A' ? 'B' : 'A'
    body.id_token = `${head}.${payload}.${signature!.slice(0, middle)}${flipped}${signature!.slice(middle + 1)}`
  }
  try {
    invalidToken((await grantFor(client, op, 'tamper-1')).reply)
  } finally {
    op.tamperToken = null
  }
})

test('an ID token whose claims were altered (another sub, signature kept) is invalid_token', async ({ t, op }) => {
  op.accounts.set('tamper-2', {})
  const client = await t.connect()
  op.tamperToken = (body) => {
    const [head, payload, signature] = String(body.id_token).split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
    claims.sub = 'someone-else'
    body.id_token = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
  }
  try {
    invalidToken((await grantFor(client, op, 'tamper-2')).reply)
  } finally {
    op.tamperToken = null
  }
})

test('an ID token with another nonce than the one the server keeps is invalid_token', async ({ t, op }) => {
  op.accounts.set('nonce-1', {})
  const client = await t.connect()
  invalidToken((await grantFor(client, op, 'nonce-1', { edit: (url) => url.searchParams.set('nonce', 'not-the-servers-nonce') })).reply)
})

test('a state works once; a code works once, also under a fresh state', async ({ t, op }) => {
  op.accounts.set('replay-1', {})
  const client = await t.connect()
  const first = await grantFor(client, op, 'replay-1')
  assert.ok(first.reply.ok, JSON.stringify(first.reply.payload))
  invalidToken(await client.request('provider:grant', { providerID: 'test', code: first.code, state: first.state }))
  const fresh = await requestOk(client, 'provider:auth_url', { providerID: 'test' })
  invalidToken(await client.request('provider:grant', { providerID: 'test', code: first.code, state: fresh.payload.state }))
  // A state is bound to its provider, and an unknown one is refused.
  const other = await requestOk(client, 'provider:auth_url', { providerID: 'test' })
  invalidToken(await client.request('provider:grant', { providerID: 'manual', code: first.code, state: other.payload.state }))
  invalidToken(await client.request('provider:grant', { providerID: 'test', code: first.code, state: 'never-issued' }))
})

test('a providerToken works once', async ({ t, op }) => {
  op.accounts.set('once-1', {})
  const client = await t.connect()
  const { reply } = await grantFor(client, op, 'once-1')
  await requestOk(client, 'profile:login', { providerToken: reply.payload.providerToken })
  invalidToken(await (await t.connect()).request('profile:login', { providerToken: reply.payload.providerToken }))
  invalidToken(await (await t.connect()).request('profile:login', { providerToken: 'f'.repeat(64) }))
})

test('autoCreate with email_verified false (or Apple\'s string "false") does not bind the email', async ({ t, op }) => {
  for (const [sub, verified] of [['unverified-1', false], ['unverified-2', 'false']] as const) {
    op.accounts.set(sub, { email: `${sub}@example.org`, email_verified: verified })
    const client = await t.connect()
    const { reply } = await grantFor(client, op, sub)
    assert.is(reply.payload.profile.email_verified, false)
    await requestOk(client, 'profile:login', { providerToken: reply.payload.providerToken })
    const own = await requestOk(client, 'profile:get', {})
    assert.is(own.payload.email, undefined, 'no email bound')
    assert.equal(own.payload.providers, [{ providerID: 'test', sub }])
    const check = await requestOk(client, 'profile:check_account', { loginID: `${sub}@example.org` })
    assert.is(check.payload.exists, false)
  }
})

test('an email another account holds is neither bound nor merged: a separate account', async ({ t, op }) => {
  const owner = await t.connect()
  const registered = await requestOk(owner, 'profile:register', { username: 'holder', thirdPIDs: [{ type: 'email', value: 'held@example.org' }], password: 'correct horse battery' })
  const account = await t.server.deps.store.accounts.byUsername('holder')
  await t.server.deps.store.verifications.markVerified(account!.id, { type: 'email', value: 'held@example.org' })
  op.accounts.set('held-1', { email: 'held@example.org', email_verified: true })
  const client = await t.connect()
  const { reply } = await grantFor(client, op, 'held-1')
  assert.is(reply.payload.linked, false)
  const login = await requestOk(client, 'profile:login', { providerToken: reply.payload.providerToken })
  assert.is.not(login.payload.userID, registered.payload.userID)
  const own = await requestOk(client, 'profile:get', {})
  assert.is(own.payload.email, undefined)
  const holder = await t.server.deps.store.accounts.byUsername('holder')
  assert.equal(holder!.thirdPIDs, [{ type: 'email', value: 'held@example.org', verified: true }])
})

test('autoCreate false: an unlinked identity is not_found and the token stays unused', async ({ t, op }) => {
  op.accounts.set('manual-1', {})
  const client = await t.connect()
  const { reply } = await grantFor(client, op, 'manual-1', { providerID: 'manual' })
  const refused = await client.request('profile:login', { providerToken: reply.payload.providerToken })
  assert.is(refused.payload.errID, 'not_found')
})

test.run()
