// The provider's signing keys: fetched once and cached across sign-ins, and a rotation followed (an ID token
// signed with a key the cache does not have makes openid-client fetch the keys again, at most once a minute).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { requestOk } from '../../support/accounts.ts'
import { grantFor, startTestProvider, type TestProvider } from '../../support/oidc-provider.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'

const test = suite<{ t: TestServer; op: TestProvider }>('provider keys')
const realNow = Date.now

test.before(async (ctx) => {
  ctx.op = await startTestProvider()
  ctx.t = await startTestServer({ providers: { test: ctx.op.config() } })
})
test.after(async (ctx) => {
  Date.now = realNow
  await ctx.t.close()
  await ctx.op.close()
})

test('the keys are fetched once for many sign-ins, and again after the provider rotates them', async ({ t, op }) => {
  op.accounts.set('rotate-1', {})
  const client = await t.connect()
  for (let i = 0; i < 3; i++) {
    const { reply } = await grantFor(client, op, 'rotate-1')
    assert.ok(reply.ok, JSON.stringify(reply.payload))
  }
  assert.is(op.jwksFetches, 1, 'one JWKS fetch for three sign-ins')

  op.rotateKeys()
  // The library fetches again for an unknown key only when its copy is a minute old: let a minute pass
  // (for this process: the server, the provider and the library all read Date.now).
  Date.now = () => realNow() + 61_000
  const { reply } = await grantFor(client, op, 'rotate-1')
  assert.ok(reply.ok, `a token signed with the new key is accepted: ${JSON.stringify(reply.payload)}`)
  assert.is(op.jwksFetches, 2, 'the keys were fetched again')
  await requestOk(client, 'profile:login', { providerToken: reply.payload.providerToken })
})

test.run()
