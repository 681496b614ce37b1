// profile:bind_provider and profile:unbind_provider against a real OpenID Provider (contract §15).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { requestOk, sudo } from '../../support/accounts.ts'
import type { TestClient } from '../../support/client.ts'
import { holdAfter } from '../../support/gate.ts'
import { grantFor, startTestProvider, type TestProvider } from '../../support/oidc-provider.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'

const test = suite<{ t: TestServer; op: TestProvider }>('profile:bind_provider / profile:unbind_provider')
const password = 'correct horse battery'

test.before(async (ctx) => {
  ctx.op = await startTestProvider()
  ctx.t = await startTestServer({ providers: { test: ctx.op.config(), other: ctx.op.config(), invite: ctx.op.config({ autoCreate: false }) } })
})
test.after(async (ctx) => {
  await ctx.t.close()
  await ctx.op.close()
})

async function registered(t: TestServer, username: string): Promise<{ client: TestClient; userID: string }> {
  const client = await t.connect()
  await requestOk(client, 'profile:register', { username, password })
  const login = await requestOk(client, 'profile:login', { username, password })
  return { client, userID: login.payload.userID }
}

test('bind, then signing in with the provider lands in the same account; unbind, then it does not', async ({ t, op }) => {
  op.accounts.set('bob-1', { email: 'bob@example.org', email_verified: true })
  const { client, userID } = await registered(t, 'bob')
  const { reply: grant } = await grantFor(client, op, 'bob-1')
  assert.is(grant.payload.linked, false)
  const noSudo = await client.request('profile:bind_provider', { providerToken: grant.payload.providerToken })
  assert.is(noSudo.payload.errID, 'sudo_required')
  await requestOk(client, 'profile:bind_provider', { providerToken: grant.payload.providerToken, sudoToken: await sudo(client, password) })
  const own = await requestOk(client, 'profile:get', {})
  assert.equal(own.payload.providers, [{ providerID: 'test', sub: 'bob-1', email: 'bob@example.org' }])
  assert.is(own.payload.email, undefined, 'binding a provider binds no 3PID')

  const elsewhere = await t.connect()
  const { reply: again } = await grantFor(elsewhere, op, 'bob-1')
  assert.is(again.payload.linked, true)
  const login = await requestOk(elsewhere, 'profile:login', { providerToken: again.payload.providerToken })
  assert.is(login.payload.userID, userID)

  await requestOk(client, 'profile:unbind_provider', { providerID: 'test', sudoToken: await sudo(client, password) })
  assert.is((await requestOk(client, 'profile:get', {})).payload.providers, undefined)
  const gone = await client.request('profile:unbind_provider', { providerID: 'test', sudoToken: await sudo(client, password) })
  assert.is(gone.payload.errID, 'not_found')
  // The identity is free again: its next sign-in creates a new account.
  const fresh = await t.connect()
  const { reply: third } = await grantFor(fresh, op, 'bob-1')
  assert.is(third.payload.linked, false)
  const created = await requestOk(fresh, 'profile:login', { providerToken: third.payload.providerToken })
  assert.is.not(created.payload.userID, userID)
})

test('an identity linked to another account is id_exists, and the token is not spent by the refusal', async ({ t, op }) => {
  op.accounts.set('carol-1', {})
  const first = await t.connect()
  const { reply } = await grantFor(first, op, 'carol-1')
  await requestOk(first, 'profile:login', { providerToken: reply.payload.providerToken })
  const { client } = await registered(t, 'dave')
  const { reply: grant } = await grantFor(client, op, 'carol-1')
  const refused = await client.request('profile:bind_provider', { providerToken: grant.payload.providerToken, sudoToken: await sudo(client, password) })
  assert.is(refused.payload.errID, 'id_exists')
  const invalid = await client.request('profile:bind_provider', { providerToken: 'a'.repeat(64), sudoToken: await sudo(client, password) })
  assert.is(invalid.payload.errID, 'invalid_token')
})

test('unbinding the only way in (a provider-made account) is forbidden; with a second provider it is allowed', async ({ t, op }) => {
  op.accounts.set('erin-1', {})
  const client = await t.connect()
  const { reply } = await grantFor(client, op, 'erin-1')
  await requestOk(client, 'profile:login', { providerToken: reply.payload.providerToken })
  const refused = await client.request('profile:unbind_provider', { providerID: 'test' })
  assert.is(refused.payload.errID, 'forbidden')
  assert.equal((await requestOk(client, 'profile:get', {})).payload.providers, [{ providerID: 'test', sub: 'erin-1' }])
  assert.is((await client.request('profile:unbind_provider', { providerID: 'other' })).payload.errID, 'not_found')

  // Such an account re-authenticates with the provider: a providerToken of its own identity buys a sudoToken.
  op.accounts.set('erin-2', {})
  const { reply: stranger } = await grantFor(client, op, 'erin-2')
  assert.is((await client.request('profile:sudo', { providerToken: stranger.payload.providerToken })).payload.errID, 'invalid_creds', 'an identity not linked here')
  const { reply: own } = await grantFor(client, op, 'erin-1')
  const sudoToken = (await requestOk(client, 'profile:sudo', { providerToken: own.payload.providerToken })).payload.sudoToken
  assert.is((await client.request('profile:sudo', { providerToken: own.payload.providerToken })).payload.errID, 'invalid_creds', 'used up')
  // With a second provider linked, the first may go.
  const { reply: second } = await grantFor(client, op, 'erin-2', { providerID: 'other' })
  await requestOk(client, 'profile:bind_provider', { providerToken: second.payload.providerToken, sudoToken })
  const { reply: again } = await grantFor(client, op, 'erin-2', { providerID: 'other' })
  const sudo2 = (await requestOk(client, 'profile:sudo', { providerToken: again.payload.providerToken })).payload.sudoToken
  await requestOk(client, 'profile:unbind_provider', { providerID: 'test', sudoToken: sudo2 })
  assert.equal((await requestOk(client, 'profile:get', {})).payload.providers, [{ providerID: 'other', sub: 'erin-2' }])
})

test('a linked provider is a way in: the only 3PID of an account without a username may then go', async ({ t, op }) => {
  op.accounts.set('frank-1', {})
  const client = await t.connect()
  const email = 'frank@example.org'
  await requestOk(client, 'profile:register', { thirdPIDs: [{ type: 'email', value: email }], password })
  await requestOk(client, 'profile:login', { thirdPID: email, password })
  const before = await client.request('profile:unbind_thirdpid', { thirdPID: email, sudoToken: await sudo(client, password) })
  assert.is(before.payload.errID, 'forbidden', 'without the provider it is the only way to name the account')
  const { reply } = await grantFor(client, op, 'frank-1')
  await requestOk(client, 'profile:bind_provider', { providerToken: reply.payload.providerToken, sudoToken: await sudo(client, password) })
  await requestOk(client, 'profile:unbind_thirdpid', { thirdPID: email, sudoToken: await sudo(client, password) })
  // And now the provider is the only way in: it cannot go.
  assert.is((await client.request('profile:unbind_provider', { providerID: 'test', sudoToken: await sudo(client, password) })).payload.errID, 'forbidden')
})

/**
 * A provider login held just after it read the link (the account it will sign in), while the owner unbinds
 * that provider; then let go. Returns its reply and the owner's userID and device count afterwards.
 */
async function loginAcrossUnbind(t: TestServer, op: TestProvider, username: string, sub: string, providerID: string) {
  op.accounts.set(sub, {})
  const { client, userID } = await registered(t, username)
  const { reply: bindGrant } = await grantFor(client, op, sub, { providerID })
  await requestOk(client, 'profile:bind_provider', { providerToken: bindGrant.payload.providerToken, sudoToken: await sudo(client, password) })
  const other = await t.connect()
  const { reply: grant } = await grantFor(other, op, sub, { providerID })
  assert.is(grant.payload.linked, true)
  const gate = holdAfter(t.server.store.providers, 'linkedAccount')
  try {
    const login = other.request('profile:login', { providerToken: grant.payload.providerToken })
    await gate.entered
    await requestOk(client, 'profile:unbind_provider', { providerID, sudoToken: await sudo(client, password) })
    gate.remove()
    const reply = await login
    const account = await t.server.store.accounts.byUsername(username)
    return { reply, other, userID, devices: await t.server.store.devices.count(account!.id) }
  } finally {
    gate.remove()
  }
}

test('a provider login in flight across an unbind does not land in the unlinked account: it signs up as a login after the unbind would', async ({ t, op }) => {
  const { reply, userID, devices } = await loginAcrossUnbind(t, op, 'gina', 'gina-1', 'test')
  assert.ok(reply.ok, JSON.stringify(reply.payload))
  assert.is.not(reply.payload.userID, userID, 'a new account, not the one the identity was unlinked from')
  assert.is(devices, 1, "no device was added to the unlinked account (only the owner's own)")
})

test('… and where autoCreate is off it answers not_found; the socket stays anonymous', async ({ t, op }) => {
  const { reply, other, devices } = await loginAcrossUnbind(t, op, 'hank', 'hank-1', 'invite')
  assert.is(reply.payload.errID, 'not_found')
  assert.is(devices, 1)
  assert.is((await other.request('device:list')).payload.errID, 'auth_required')
})

test('a provider re-authentication (profile:sudo) in flight across an unbind gets no sudoToken: invalid_creds', async ({ t, op }) => {
  op.accounts.set('ivy-1', {})
  const { client } = await registered(t, 'ivy')
  const { reply: bindGrant } = await grantFor(client, op, 'ivy-1')
  await requestOk(client, 'profile:bind_provider', { providerToken: bindGrant.payload.providerToken, sudoToken: await sudo(client, password) })
  // The owner's other device unbinds while this one's sudo is held just after it read the link.
  const owner = await t.connect()
  await requestOk(owner, 'profile:login', { username: 'ivy', password })
  const { reply: grant } = await grantFor(client, op, 'ivy-1')
  const gate = holdAfter(t.server.store.providers, 'linkedAccount')
  try {
    const reauth = client.request('profile:sudo', { providerToken: grant.payload.providerToken }, {}, { timeoutMs: 15_000 })
    await gate.entered
    await requestOk(owner, 'profile:unbind_provider', { providerID: 'test', sudoToken: await sudo(owner, password) })
    gate.remove()
    const reply = await reauth
    assert.is(reply.payload.errID, 'invalid_creds', JSON.stringify(reply.payload))
  } finally {
    gate.remove()
  }
  assert.is((await requestOk(client, 'profile:get', {})).payload.providers, undefined)
})

test('anonymous connections get auth_required', async ({ t }) => {
  const client = await t.connect()
  assert.is((await client.request('profile:bind_provider', { providerToken: 'a'.repeat(64) })).payload.errID, 'auth_required')
  assert.is((await client.request('profile:unbind_provider', { providerID: 'test' })).payload.errID, 'auth_required')
})

test.run()
