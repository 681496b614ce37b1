// hafnium/client passwordless sign-in against a real server: signInAsGuest, upgrade, signInWithTicket, and an
// OpenID Connect provider (oidc-provider on loopback): providerAuthURL, grantProviderToken, signInWithProvider, bind/unbind.
import { SignJWT } from 'jose'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HafniumClient, HafniumError } from '../../src/client/index.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { startTestProvider, type TestProvider } from '../support/oidc-provider.ts'

const secret = 'an-hs256-secret-of-at-least-32-bytes!'
const test = suite<{ t: TestServer; op: TestProvider; clients: HafniumClient[] }>('client: guests, tickets and identity providers')

test.before(async (ctx) => {
  ctx.op = await startTestProvider()
  ctx.t = await startTestServer({
    registration: { guests: true },
    tickets: { issuers: [{ iss: 'app', alg: 'HS256', secret }] },
    providers: { local: ctx.op.config() },
  })
  ctx.clients = []
})
test.after(async (ctx) => {
  await Promise.all(ctx.clients.map((c) => c.close()))
  await ctx.t.close()
  await ctx.op.close()
})

const open = async (ctx: { t: TestServer; op: TestProvider; clients: HafniumClient[] }) => {
  const client = await HafniumClient.connect(ctx.t.url, { requestTimeoutMs: 15_000 })
  ctx.clients.push(client)
  return client
}

test('signInAsGuest sets the session; upgrade keeps it; the new password logs in as the same user', async (ctx) => {
  const client = await open(ctx)
  const guest = await client.signInAsGuest({ deviceName: 'kiosk' })
  assert.is(guest.guest, true)
  assert.equal(client.session, { userID: guest.userID, deviceID: guest.deviceID, authToken: guest.authToken })
  assert.equal(await client.upgrade({ username: 'tybalt', password: 'prince-of-cats' }), { userID: guest.userID })
  assert.equal(client.session, { userID: guest.userID, deviceID: guest.deviceID, authToken: guest.authToken })
  assert.is((await client.request('profile:get', {})).username, 'tybalt')

  const again = await open(ctx)
  assert.is((await again.login('tybalt', 'prince-of-cats')).userID, guest.userID)
  try {
    await again.upgrade({ username: 'tybalt2', password: 'prince-of-cats' })
    assert.unreachable('a full account upgraded')
  } catch (error) {
    assert.instance(error, HafniumError)
    assert.is((error as HafniumError).errID, 'forbidden')
  }
})

test('signInWithTicket signs in once per ticket', async (ctx) => {
  const now = Math.floor(Date.now() / 1000)
  const ticket = await new SignJWT({ jti: 'client-1' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('app')
    .setSubject('user-7')
    .setAudience('localhost')
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .sign(new TextEncoder().encode(secret))
  const client = await open(ctx)
  const reply = await client.signInWithTicket(ticket, { deviceName: 'web' })
  assert.equal(client.session, reply)
  const other = await open(ctx)
  try {
    await other.signInWithTicket(ticket)
    assert.unreachable('a ticket worked twice')
  } catch (error) {
    assert.is((error as HafniumError).errID, 'invalid_token')
  }
})

test('providerAuthURL, the provider login, grantProviderToken, signInWithProvider; bindWithProvider and unbindProvider', async (ctx) => {
  ctx.op.accounts.set('mercutio-1', { email: 'mercutio@example.org', email_verified: true, name: 'Mercutio' })
  const client = await open(ctx)
  const { url, state } = await client.providerAuthURL('local')
  const back = await ctx.op.signIn(url, 'mercutio-1')
  assert.is(back.get('state'), state)
  const grant = await client.grantProviderToken('local', back.get('code')!, state)
  assert.equal(grant.profile, { sub: 'mercutio-1', email: 'mercutio@example.org', email_verified: true, name: 'Mercutio' })
  const login = await client.signInWithProvider(grant.providerToken, { deviceName: 'web' })
  assert.equal(client.session, { userID: login.userID, deviceID: login.deviceID, authToken: login.authToken })

  const owner = await open(ctx)
  await owner.register('benvolio', 'peace-keeper-of-verona')
  ctx.op.accounts.set('benvolio-1', {})
  const second = await owner.providerAuthURL('local')
  const code = (await ctx.op.signIn(second.url, 'benvolio-1')).get('code')!
  const token = (await owner.grantProviderToken('local', code, second.state)).providerToken
  const sudo = async () => (await owner.request('profile:sudo', { password: 'peace-keeper-of-verona' })).sudoToken
  assert.equal(await owner.bindWithProvider(token, await sudo()), {})
  assert.equal((await owner.request('profile:get', {})).providers, [{ providerID: 'local', sub: 'benvolio-1' }])
  assert.equal(await owner.unbindProvider('local', await sudo()), {})
  try {
    await owner.unbindProvider('local', await sudo())
    assert.unreachable('unbound twice')
  } catch (error) {
    assert.is((error as HafniumError).errID, 'not_found')
  }
})

test.run()
