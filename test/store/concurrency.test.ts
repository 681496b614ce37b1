// The store's guarantees under concurrency, on either engine (HAFNIUM_TEST_ENGINE): the operations
// where isolation matters decide exactly, however the racing requests are spread over nodes.
import { randomBytes } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateDeviceID, hashToken } from '../../src/auth/tokens.ts'
import { AccountInactive, DeviceLimit, LoginBlocked } from '../../src/store/errors.ts'
import type { Store } from '../../src/store/index.ts'
import { testEngine } from '../support/engine.ts'
import { openTestStores, outcomes, type TestStores } from './support.ts'

const test = suite<{ s: TestStores }>(`store concurrency (${testEngine})`)
test.before.each(async (ctx) => {
  ctx.s = await openTestStores()
})
test.after.each(async (ctx) => {
  await ctx.s.close()
})

const now = Date.UTC(2026, 0, 1)
const spread = <T>(s: TestStores, n: number, work: (store: Store, i: number) => Promise<T>) => Array.from({ length: n }, (_, i) => work(s.nodes[i % 3]!, i))

async function account(store: Store, username: string) {
  return store.accounts.create({
    id: 'acc-' + username,
    username,
    userID: `@${username}:localhost`,
    passwordHash: 'hash',
    status: 'active',
    profile: {},
    thirdPIDs: [],
    now,
  })
}

/** A login's device insert as the domain makes it: `expect` re-checked against what the login read of `a`. */
function loginDevice(store: Store, a: { id: string; credentialsEpoch: number }, tag: string, maxDevices: number, at = now, settleLoginAt?: number) {
  return store.devices.create({
    accountID: a.id,
    tokenHash: hashToken(tag),
    name: tag,
    pushToken: null,
    ip: '127.0.0.1',
    now: at,
    expect: { credentialsEpoch: a.credentialsEpoch, maxDevices, ...(settleLoginAt !== undefined && { settleLoginAt }) },
  })
}
/** The error a promise rejects with, or undefined when it resolves. */
const refusal = (work: Promise<unknown>) => work.then(() => undefined, (error: unknown) => error)

test('50 concurrent registrations of one username: exactly one account', async ({ s }) => {
  const counts = await outcomes(
    spread(s, 50, (store, i) =>
      store.accounts.create({ id: `acc-${i}`, username: 'juliet', userID: `@juliet-${i}:localhost`, passwordHash: null, status: 'active', profile: {}, thirdPIDs: [], now }),
    ).map((p) => p.then(() => 'created')),
  )
  assert.equal(counts, { created: 1, 'UniqueViolation:the other is taken': 49 }, 'the store raises its typed conflict, not a protocol error')
  assert.is(await s.store.accounts.count(), 1)
})

test('50 concurrent registrations claiming one verified email: exactly one holds it', async ({ s }) => {
  const counts = await outcomes(
    spread(s, 50, (store, i) =>
      store.accounts.create({
        id: `acc-${i}`,
        username: `user${i}`,
        userID: `@user${i}:localhost`,
        passwordHash: null,
        status: 'active',
        profile: {},
        thirdPIDs: [{ type: 'email', value: 'nurse@verona.example', verified: true }],
        now,
      }),
    ).map((p) => p.then(() => 'created')),
  )
  assert.equal(counts, { created: 1, 'UniqueViolation:the other is taken': 49 }, 'the store raises its typed conflict, not a protocol error')
})

test('20 concurrent wrong answers to a code with 5 attempts: exactly 5 counted, each attempt once', async ({ s }) => {
  const a = await account(s.store, 'romeo')
  await s.store.verifications.issueCode(
    { id: 'v1', purpose: 'login', thirdPID: { type: 'email', value: 'romeo@verona.example' }, accountID: a.id, requester: 'ip:127.0.0.1', code: '123456', attempts: 5, expiresAt: now + 600_000 },
    { channel: 'email', to: 'romeo@verona.example', purpose: 'login', code: '123456' },
    now,
  )
  const results = await Promise.all(spread(s, 20, (store) => store.verifications.attempt('v1', '000000', { hash: randomBytes(32), expiresAt: now + 600_000 }, now)))
  const wrong = results.filter((r) => r.outcome === 'wrong').map((r) => (r.outcome === 'wrong' ? r.attemptsLeft : -1))
  assert.equal(wrong.sort(), [0, 1, 2, 3, 4], 'each remaining-attempts value once')
  assert.is(results.filter((r) => r.outcome === 'unknown').length, 15, 'the code is gone after the fifth')
  assert.is((await s.store.verifications.codeFailures(a.id)).count, 5)
})

test('10 concurrent right answers to one code: exactly one token', async ({ s }) => {
  await s.store.verifications.issueCode(
    { id: 'v2', purpose: 'signup', thirdPID: { type: 'email', value: 'friar@verona.example' }, accountID: null, requester: 'ip:127.0.0.1', code: '654321', attempts: 5, expiresAt: now + 600_000 },
    { channel: 'email', to: 'friar@verona.example', purpose: 'signup', code: '654321' },
    now,
  )
  const results = await Promise.all(spread(s, 10, (store) => store.verifications.attempt('v2', '654321', { hash: randomBytes(32), expiresAt: now + 600_000 }, now)))
  assert.is(results.filter((r) => r.outcome === 'ok').length, 1)
  assert.is(results.filter((r) => r.outcome === 'unknown').length, 9)
})

test('single-use values used 10 times at once are used once: verification token, sudo token, ticket jti, captcha solution', async ({ s }) => {
  const a = await account(s.store, 'nurse')
  const device = await s.store.devices.create({ accountID: a.id, tokenHash: hashToken('t'), name: 'phone', pushToken: null, ip: '127.0.0.1', now })

  const attempt = await s.store.verifications.issueCode(
    { id: 'v3', purpose: 'sudo', thirdPID: { type: 'email', value: 'nurse@verona.example' }, accountID: a.id, requester: 'ip:x', code: '111111', attempts: 5, expiresAt: now + 1000 },
    { channel: 'email', to: 'nurse@verona.example', purpose: 'sudo', code: '111111' },
    now,
  )
  void attempt
  const tokenHash = randomBytes(32)
  assert.is((await s.store.verifications.attempt('v3', '111111', { hash: tokenHash, expiresAt: now + 60_000 }, now)).outcome, 'ok')
  const match = { purpose: 'sudo' as const, accountID: a.id }
  assert.equal(await outcomes(spread(s, 10, (store) => store.verifications.consumeToken(tokenHash, match, now))), { true: 1, false: 9 })

  const sudoHash = randomBytes(32)
  await s.store.sudoTokens.issue(sudoHash, { accountID: a.id, deviceID: device.id }, now + 60_000)
  assert.equal(await outcomes(spread(s, 10, (store) => store.sudoTokens.consume(sudoHash, { accountID: a.id, deviceID: device.id }, 'set_password', now))), {
    true: 1,
    false: 9,
  })

  assert.equal(
    await outcomes(spread(s, 10, (store) => store.tickets.useJti('https://issuer.example', 'jti-1', now + 60_000, now).then(() => 'used'))),
    { used: 1, 'AlreadyUsed:already used': 9 },
  )
  const solution = randomBytes(32)
  assert.equal(await outcomes(spread(s, 10, (store) => store.captcha.spend(solution, now + 60_000))), { true: 1, false: 9 })
})

test('20 concurrent logins against a cap of 3 devices (1 held): exactly 2 more devices', async ({ s }) => {
  const a = await account(s.store, 'tybalt')
  await s.store.devices.create({ accountID: a.id, tokenHash: hashToken('first'), name: 'first', pushToken: null, ip: '127.0.0.1', now })
  const results = await Promise.allSettled(
    spread(s, 20, (store, i) => loginDevice(store, a, `login ${i}`, 3)),
  )
  assert.is(results.filter((r) => r.status === 'fulfilled').length, 2)
  assert.ok(
    results.every((r) => r.status === 'fulfilled' || r.reason instanceof DeviceLimit),
    'every refusal is DeviceLimit',
  )
  assert.is(await s.store.devices.count(a.id), 3)
})

test('a password login settles its backoff in the device insert: a block landed meanwhile refuses it, else its failures are cleared', async ({ s }) => {
  const a = await account(s.store, 'paris')
  const login = (store: Store, i: number, settleLoginAt: number) => loginDevice(store, a, `paris ${i}`, 10, settleLoginAt, settleLoginAt)
  // Two wrong passwords on other nodes while this login's argon2 ran: the second set a block to now + 60 s.
  await s.nodes[1].accounts.recordLoginFailure(a.id, now, () => 0)
  await s.nodes[2].accounts.recordLoginFailure(a.id, now, () => now + 60_000)
  const refused = await refusal(login(s.nodes[0], 1, now + 1))
  assert.instance(refused, LoginBlocked)
  assert.is((refused as LoginBlocked).until, now + 60_000)
  assert.is(await s.store.devices.count(a.id), 0, 'nothing inserted')
  assert.is((await s.store.accounts.byID(a.id))!.failedLogins, 2, 'the failures stand')
  // Once the block is over the right password logs in, and the count starts again from 0.
  await login(s.nodes[1], 2, now + 60_001)
  assert.is(await s.store.devices.count(a.id), 1)
  const settled = (await s.store.accounts.byID(a.id))!
  assert.equal([settled.failedLogins, settled.loginBlockedUntil], [0, 0])
})

test('a disabled or pending account is told after the backoff: blocked meanwhile -> LoginBlocked, else AccountInactive, its failures kept', async ({ s }) => {
  for (const status of ['disabled', 'pending'] as const) {
    const a = await s.store.accounts.create({ id: `acc-${status}`, username: `rosalind-${status}`, userID: `@rosalind-${status}:localhost`, passwordHash: 'hash', status, profile: {}, thirdPIDs: [], now })
    const login = (settleLoginAt: number) => refusal(loginDevice(s.nodes[0], a, `${status}-${settleLoginAt}`, 10, settleLoginAt, settleLoginAt))
    // A wrong password on another node blocked the account while this (right) one's argon2 ran.
    await s.nodes[1].accounts.recordLoginFailure(a.id, now, () => now + 60_000)
    assert.instance(await login(now + 1), LoginBlocked, `${status}: the block first, the status not told`)
    const refused = await login(now + 60_001)
    assert.instance(refused, AccountInactive, status)
    assert.is((refused as AccountInactive).status, status)
    assert.is(await s.store.devices.count(a.id), 0)
    assert.is((await s.store.accounts.byID(a.id))!.failedLogins, 1, `${status}: a refused login clears nothing`)
  }
})

test('a password change racing logins: no device created with the old epoch survives it', async ({ s }) => {
  const a = await account(s.store, 'mercutio')
  const actor = await s.store.devices.create({ accountID: a.id, tokenHash: hashToken('actor'), name: 'actor', pushToken: null, ip: '127.0.0.1', now })
  const logins = spread(s, 10, (store, i) => loginDevice(store, a, `race ${i}`, 100))
  const change = s.nodes[1].accounts.changeCredentials({ accountID: a.id, passwordHash: 'new', actor: { deviceID: actor.id, keepActor: true }, now })
  await Promise.allSettled([...logins, change])
  assert.equal(
    (await s.store.devices.list(a.id)).map((d) => d.id),
    [actor.id],
    'logins that committed first were revoked by the change; later ones were refused (CredentialsChanged)',
  )
})

test('20 concurrent profile merges of distinct claims: none lost', async ({ s }) => {
  const a = await account(s.store, 'benvolio')
  const device = await s.store.devices.create({ accountID: a.id, tokenHash: hashToken('b'), name: 'b', pushToken: null, ip: '127.0.0.1', now })
  const keys = ['name', 'given_name', 'family_name', 'nickname', 'website', 'gender', 'locale', 'zoneinfo', 'picture', 'profile']
  await Promise.all(keys.map((key, i) => s.nodes[i % 3]!.accounts.mergeProfile(a.id, device.id, { [key]: `value of ${key}` }, now)))
  const profile = (await s.store.accounts.byID(a.id))!.profile as Record<string, unknown>
  assert.equal(Object.keys(profile).sort(), [...keys].sort())
})

test('a rotating token presented 10 times at once: one rotation, the chain does not fork', async ({ s }) => {
  const a = await account(s.store, 'paris')
  const current = hashToken('current')
  const device = await s.store.devices.create({ accountID: a.id, tokenHash: current, name: 'p', pushToken: null, ip: '127.0.0.1', now })
  const nexts = Array.from({ length: 10 }, () => randomBytes(32))
  const results = await Promise.all(spread(s, 10, (store, i) => store.devices.present(device.id, current, nexts[i]!, now, 30_000)))
  assert.ok(results.every((r) => r === 'ok'), 'within the grace every retry is accepted')
  const holder = await s.store.devices.byToken(current)
  assert.is(holder?.slot, 'previous', 'the presented token was retired once')
  const live = (await Promise.all(nexts.map((n) => s.store.devices.byToken(n)))).filter((h) => h?.slot === 'current')
  assert.is(live.length, 1, 'exactly one successor is current')
  void generateDeviceID
})

test.run()
