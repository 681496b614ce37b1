// The whole OpenID Connect sign-in against a real OpenID Provider (oidc-provider on loopback): auth URL,
// the provider's login, the redirect's code, provider:grant, profile:login {providerToken} (contract §15).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { requestOk } from '../../support/accounts.ts'
import { startTestProvider, type TestProvider } from '../../support/oidc-provider.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const test = suite<{ t: TestServer; op: TestProvider }>('provider sign-in')

test.before(async (ctx) => {
  ctx.op = await startTestProvider()
  ctx.t = await startTestServer({ providers: { test: ctx.op.config() } })
})
test.after(async (ctx) => {
  await ctx.t.close()
  await ctx.op.close()
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

test.run()
