// profile:sudo over a real socket: issuing, refusals, hashed storage, expiry, per-purpose use, rate limit.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { storedRows } from '../../support/engine.ts'
import { generateAuthToken, hashToken } from '../../../src/auth/tokens.ts'
import { errors } from '../../../src/errors.ts'
import { login, register } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const password = 'balcony-scene-2'
const clock = manualClock()
const test = suite<{ t: TestServer }>('profile:sudo')

test.before(async (ctx) => {
  ctx.t = await startTestServer({}, { clock })
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo', 'tybalt']) {
    await register(c, { username, password })
  }
})
test.after(async (ctx) => ctx.t.close())

const invalidCreds = { errID: 'invalid_creds', errText: errors.invalid_creds }
const sudoRequired = { errID: 'sudo_required', errText: errors.sudo_required }

test('the password buys a sudoToken living sessions.sudoTtl seconds; only its hash is stored', async ({ t }) => {
  const { client } = await login(t, { username: 'juliet', password })
  const reply = await client.request('profile:sudo', { password })
  assertValidReply('profile:sudo', reply)
  assert.is(reply.to, '@juliet@localhost')
  assert.is(reply.payload.expiresIn, t.config.sessions.sudoTtl)
  assert.match(reply.payload.sudoToken, /^[A-Za-z0-9_-]{43}$/)

  {
    const rows = (await storedRows(t.config, 'SELECT token_hash, expires_at FROM sudo_tokens')) as { token_hash: Buffer; expires_at: number }[]
    const row = rows.find((r) => r.token_hash.equals(hashToken(reply.payload.sudoToken)))
    assert.ok(row, 'the SHA-256 of the token is stored')
    assert.is(row!.expires_at, clock.now() + t.config.sessions.sudoTtl * 1000)
    const dump = JSON.stringify(await storedRows(t.config, 'SELECT * FROM sudo_tokens'))
    assert.not.ok(dump.includes(reply.payload.sudoToken), 'the token itself is not stored')
  }
})

test('a wrong password answers invalid_creds', async ({ t }) => {
  const { client } = await login(t, { username: 'juliet', password })
  assert.equal((await client.request('profile:sudo', { password: 'balcony-scene-3' })).payload, invalidCreds)
})

test('a verificationToken answers invalid_creds (codes are not served yet)', async ({ t }) => {
  const { client } = await login(t, { username: 'juliet', password })
  assert.equal((await client.request('profile:sudo', { verificationToken: 'abcdefghijklmnop' })).payload, invalidCreds)
})

test('an account without a password answers invalid_creds', async ({ t }) => {
  const { store } = t.server.deps
  const now = clock.now()
  await store.accounts.create({ id: 'nopassword000001', username: 'nopass', userID: '@nopass@localhost', passwordHash: null, status: 'active', profile: {}, thirdPIDs: [], now })
  const authToken = generateAuthToken()
  await store.devices.create({ accountID: 'nopassword000001', tokenHash: hashToken(authToken), name: 'seeded', pushToken: null, ip: '127.0.0.1', now })
  const client = await t.connect()
  assert.is((await client.request('profile:auth', { authToken })).ok, true)
  assert.equal((await client.request('profile:sudo', { password })).payload, invalidCreds)
  assert.equal((await client.request('profile:sudo', { password: 'anything-at-all' })).payload, invalidCreds)
})

test('exactly one of password / verificationToken', async ({ t }) => {
  const { client } = await login(t, { username: 'juliet', password })
  assert.is((await client.request('profile:sudo', {})).payload.errID, 'invalid_payload')
  assert.is((await client.request('profile:sudo', { password, verificationToken: 'abcdefgh' })).payload.errID, 'invalid_payload')
  assert.is((await client.request('profile:sudo', { password, extra: 1 })).payload.errID, 'invalid_payload')
})

test('needs an authenticated connection', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('profile:sudo', { password })).payload, { errID: 'auth_required', errText: errors.auth_required })
})

test('a sudoToken is valid until sudoTtl has passed', async ({ t }) => {
  const { client } = await login(t, { username: 'romeo', password })
  const ttl = t.config.sessions.sudoTtl * 1000
  const early = (await client.request('profile:sudo', { password })).payload.sudoToken
  clock.advance(ttl - 1)
  const inTime = await client.request('profile:set_password', { sudoToken: early, newPassword: 'nightingale-lark' })
  assert.is(inTime.ok, true, JSON.stringify(inTime))

  const late = (await client.request('profile:sudo', { password: 'nightingale-lark' })).payload.sudoToken
  clock.advance(ttl)
  const expired = await client.request('profile:set_password', { sudoToken: late, newPassword: 'balcony-scene-2' })
  assert.equal(expired.payload, sudoRequired)
  await client.request('profile:set_password', { oldPassword: 'nightingale-lark', newPassword: password })
})

test('a sudoToken serves each purpose once; another account cannot use it', async ({ t }) => {
  const a = await login(t, { username: 'tybalt', password })
  const spare = await login(t, { username: 'tybalt', password })
  const { sudoToken } = (await a.client.request('profile:sudo', { password })).payload

  const other = await login(t, { username: 'juliet', password })
  const foreign = await other.client.request('profile:deactivate', { sudoToken })
  assert.equal(foreign.payload, sudoRequired)

  assert.is((await a.client.request('device:revoke', { deviceID: spare.deviceID, sudoToken })).ok, true)
  const spare2 = await login(t, { username: 'tybalt', password })
  assert.equal((await a.client.request('device:revoke', { deviceID: spare2.deviceID, sudoToken })).payload, sudoRequired)
  // The same token still serves a purpose it has not served yet.
  assert.is((await a.client.request('profile:set_password', { sudoToken, newPassword: 'prince-of-cats' })).ok, true)
})

/** Rows of sudo_tokens holding this token's hash (0 once it is deleted). */
async function tokenRows(t: TestServer, sudoToken: string): Promise<number> {
  return (await storedRows(t.config, 'SELECT count(*) AS n FROM sudo_tokens WHERE token_hash = ?', [hashToken(sudoToken)]))[0]!.n as number
}

test("a sudoToken is bound to its device: the account's other device cannot use it", async ({ t }) => {
  const [a, b] = [await login(t, { username: 'romeo', password }), await login(t, { username: 'romeo', password })]
  const sudoToken = (await a.client.request('profile:sudo', { password })).payload.sudoToken
  const spare = await login(t, { username: 'romeo', password })
  assert.equal((await b.client.request('device:revoke', { deviceID: spare.deviceID, sudoToken })).payload, sudoRequired)
  // The device it was issued to still can.
  assert.is((await a.client.request('device:revoke', { deviceID: spare.deviceID, sudoToken })).ok, true)
})

test('a sudoToken is deleted with its device (logout, revoke)', async ({ t }) => {
  for (const end of ['logout', 'revoke'] as const) {
    const a = await login(t, { username: 'romeo', password })
    const other = await login(t, { username: 'romeo', password })
    const sudoToken = (await a.client.request('profile:sudo', { password })).payload.sudoToken
    assert.is(await tokenRows(t, sudoToken), 1)
    if (end === 'logout') assert.is((await a.client.request('profile:logout')).ok, true)
    else {
      const otherToken = (await other.client.request('profile:sudo', { password })).payload.sudoToken
      assert.is((await other.client.request('device:revoke', { deviceID: a.deviceID, sudoToken: otherToken })).ok, true)
    }
    assert.is(await tokenRows(t, sudoToken), 0, `${end}: the token went with its device`)
    assert.equal((await other.client.request('profile:deactivate', { sudoToken })).payload, sudoRequired)
  }
})

test('every credential change deletes the sudoTokens: one issued before a password change is refused after it', async ({ t }) => {
  const a = await login(t, { username: 'romeo', password })
  const sudoToken = (await a.client.request('profile:sudo', { password })).payload.sudoToken
  const later = 'wherefore-art-thou'
  // Changed with the old password on the same device, which stays logged in.
  assert.is((await a.client.request('profile:set_password', { oldPassword: password, newPassword: later })).ok, true)
  assert.is(await tokenRows(t, sudoToken), 0)
  assert.equal((await a.client.request('profile:set_password', { sudoToken, newPassword: 'stolen-password-1' })).payload, sudoRequired)
  assert.is((await a.client.request('profile:set_password', { oldPassword: later, newPassword: password })).ok, true)
})

test.run()

// Sudo checks a password, so it shares the per-account guessing budget with profile:login.
const limited = suite<{ t: TestServer }>('profile:sudo rate limit')

limited.before(async (ctx) => {
  ctx.t = await startTestServer(
    { ratelimit: { enabled: true, rules: { login_account: { subject: 'account', capacity: 3, refillPerSecond: 0.001 } } } },
    { clock: manualClock() },
  )
  const c = await ctx.t.connect()
  await register(c, { username: 'paris', password })
})
limited.after(async (ctx) => ctx.t.close())

limited('wrong passwords through sudo drain the login_account bucket of profile:login', async ({ t }) => {
  const { client } = await login(t, { username: 'paris', password }) // 1st token
  assert.equal((await client.request('profile:sudo', { password: 'wrong-password-1' })).payload, invalidCreds) // 2nd
  assert.is((await client.request('profile:sudo', { password })).ok, true) // 3rd
  const refused = await client.request('profile:sudo', { password })
  assert.is(refused.payload.errID, 'ratelimit_exceed')
  assert.ok(refused.payload.errPayload.retryAfter > 0)
  const loginRefused = await (await t.connect()).request('profile:login', { username: 'paris', password })
  assert.is(loginRefused.payload.errID, 'ratelimit_exceed')
})

limited.run()
