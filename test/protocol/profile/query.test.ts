// profile:query over a real socket: by username, public email/msisdn, userIDs; public views only.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { disable, login, register, requestOk, verifyThirdPIDs } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'
import type { TestClient } from '../../support/client.ts'

const createdAt = Date.UTC(2026, 0, 1)
const test = suite<{ t: TestServer; juliet: TestClient; romeo: TestClient }>('profile:query')

const julietPublic = { userID: '@juliet@localhost', username: 'juliet', name: 'Juliet', createdAt }

test.before(async (ctx) => {
  ctx.t = await startTestServer({}, { clock: manualClock(createdAt) })
  const c = await ctx.t.connect()
  await register(c, {
    username: 'juliet',
    password: 'romeo-montague',
    thirdPIDs: [
      { type: 'email', value: 'juliet@capulet.com' },
      { type: 'msisdn', value: '+1234567890' },
    ],
    profile: { name: 'Juliet', misc: { balcony: 'north' }, gender: 'female' },
  })
  await register(c, { username: 'romeo', password: 'poison-and-dagger' })
  await register(c, { username: 'tybalt', password: 'prince-of-cats', thirdPIDs: [{ type: 'email', value: 'tybalt@capulet.com' }], profile: { email_public: true } })
  // Proven addresses: only those are matched by email or msisdn.
  for (const name of ['juliet', 'tybalt']) await verifyThirdPIDs(ctx.t, name)
  await disable(ctx.t, 'tybalt')
  ctx.juliet = (await login(ctx.t, { username: 'juliet', password: 'romeo-montague' })).client
  ctx.romeo = (await login(ctx.t, { username: 'romeo', password: 'poison-and-dagger' })).client
})
test.after(async (ctx) => ctx.t.close())

const update = (c: TestClient, payload: object) => requestOk(c, 'profile:update', payload)

async function query(c: TestClient, payload: object) {
  const reply = await c.request('profile:query', payload)
  assertValidReply('profile:query', reply)
  return reply.payload
}

test('by username, case-folded: the public view', async ({ romeo }) => {
  assert.equal(await query(romeo, { username: 'JULIET' }), { total: 1, users: [julietPublic] })
  assert.equal(await query(romeo, { username: 'mercutio' }), { total: 0, users: [] })
})

test('by email and msisdn only where the owner made them public', async ({ juliet, romeo }) => {
  assert.equal(await query(romeo, { email: 'juliet@capulet.com' }), { total: 0, users: [] })
  assert.equal(await query(romeo, { msisdn: '+1234567890' }), { total: 0, users: [] })

  await update(juliet, { email_public: true })
  assert.equal(await query(romeo, { email: 'Juliet@Capulet.COM' }), { total: 1, users: [{ ...julietPublic, email: 'juliet@capulet.com' }] })
  assert.equal(await query(romeo, { msisdn: '+1234567890' }), { total: 0, users: [] })

  await update(juliet, { phone_number_public: true })
  const byPhone = await query(romeo, { msisdn: '+1 234 567 890' })
  assert.equal(byPhone, { total: 1, users: [{ ...julietPublic, email: 'juliet@capulet.com', phone_number: '+1234567890' }] })

  await update(juliet, { email_public: false, phone_number_public: false })
  assert.equal(await query(romeo, { email: 'juliet@capulet.com' }), { total: 0, users: [] })
})

test('an unproven address matches nobody, even when public (it may be someone else’s)', async ({ t, romeo }) => {
  const c = await t.connect()
  await register(c, { username: 'mercutio', password: 'queen-mab-dreams', thirdPIDs: [{ type: 'email', value: 'mab@verona.example' }], profile: { email_public: true } })
  assert.equal(await query(romeo, { email: 'mab@verona.example' }), { total: 0, users: [] })
  await verifyThirdPIDs(t, 'mercutio')
  assert.equal((await query(romeo, { email: 'mab@verona.example' })).total, 1)
})

test('an email or msisdn that cannot be valid matches nobody', async ({ romeo }) => {
  for (const payload of [{ email: 'not-an-email' }, { email: '@' }, { msisdn: '12345' }, { msisdn: '+0' }]) {
    assert.equal(await query(romeo, payload), { total: 0, users: [] }, JSON.stringify(payload))
  }
})

test('by userIDs: active accounts only, each once, localparts case-folded', async ({ romeo }) => {
  const result = await query(romeo, { userIDs: ['@juliet@localhost', '@tybalt@localhost', '@nobody@localhost', '@JULIET@localhost', '@romeo@localhost'] })
  assert.equal(result, { total: 2, users: [julietPublic, { userID: '@romeo@localhost', username: 'romeo', createdAt }] })
})

test('a disabled account is not found even where its email is public', async ({ romeo }) => {
  assert.equal(await query(romeo, { email: 'tybalt@capulet.com' }), { total: 0, users: [] })
  assert.equal(await query(romeo, { username: 'tybalt' }), { total: 0, users: [] })
})

test('exactly one selector; userIDs holds 1..100 user IDs', async ({ romeo }) => {
  const refused = [{}, { username: 'juliet', email: 'juliet@capulet.com' }, { userIDs: [] }, { userIDs: Array.from({ length: 101 }, (_, i) => `@u${i}@localhost`) }, { userIDs: ['juliet'] }, { role: 'admin' }]
  for (const payload of refused) {
    const reply = await romeo.request('profile:query', payload)
    assert.is(reply.payload.errID, 'invalid_payload', JSON.stringify(payload).slice(0, 80))
  }
  const hundred = await query(romeo, { userIDs: Array.from({ length: 100 }, (_, i) => `@u${i}@localhost`) })
  assert.equal(hundred, { total: 0, users: [] })
})

test('an anonymous connection gets auth_required', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:query', { username: 'juliet' })
  assert.equal(reply.payload, { errID: 'auth_required', errText: 'This message type needs an authenticated connection' })
})

test.run()

// Audit issue 11 §9: 100 userIDs a frame were under no per-IP rule (~900 look-ups a second).
const limited = suite('profile:query is charged to lookup_ip per user looked up')

limited('100 userIDs take 100 lookup_ip tokens; the next query waits for its own count', async () => {
  const clock = manualClock(createdAt)
  const t = await startTestServer({ ratelimit: { enabled: true } }, { clock })
  try {
    const c = await t.connect()
    await register(c, { username: 'juliet', password: 'romeo-montague' })
    const { client } = await login(t, { username: 'juliet', password: 'romeo-montague' })
    const userIDs = Array.from({ length: 100 }, (_, i) => `@user${i}@localhost`)
    assert.equal((await client.request('profile:query', { userIDs })).payload, { total: 0, users: [] })
    const refused = await client.request('profile:query', { userIDs: userIDs.slice(0, 3) })
    assert.equal(refused.payload.errPayload, { retryAfter: 3000 }, JSON.stringify(refused.payload))
    clock.advance(2000)
    assert.equal((await client.request('profile:query', { username: 'juliet' })).payload.total, 1, 'one look-up')
    assert.equal((await client.request('profile:query', { userIDs: ['@juliet@localhost'] })).payload.total, 1)
    assert.is((await client.request('profile:query', { userIDs: ['@juliet@localhost'] })).payload.errID, 'ratelimit_exceed')
  } finally {
    await t.close()
  }
})

limited.run()
