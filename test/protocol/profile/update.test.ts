// profile:update over a real socket: merge and removal, real dates, visibility to others, and refused keys.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { login, register } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'
import type { TestClient } from '../../support/client.ts'

const createdAt = Date.UTC(2026, 0, 1)
const test = suite<{ t: TestServer; juliet: TestClient; romeo: TestClient }>('profile:update')

test.before(async (ctx) => {
  ctx.t = await startTestServer({}, { clock: manualClock(createdAt) })
  const c = await ctx.t.connect()
  await register(c, {
    username: 'juliet',
    password: 'romeo-montague',
    thirdPIDs: [{ type: 'email', value: 'juliet@capulet.com' }],
    profile: { name: 'Juliet', misc: { balcony: 'north' } },
  })
  await register(c, { username: 'romeo', password: 'poison-and-dagger' })
  ctx.juliet = (await login(ctx.t, { username: 'juliet', password: 'romeo-montague' })).client
  ctx.romeo = (await login(ctx.t, { username: 'romeo', password: 'poison-and-dagger' })).client
})
test.after(async (ctx) => ctx.t.close())

const own = async (c: TestClient) => (await c.request('profile:get', {})).payload

test('merges claims and answers the updated own profile', async ({ juliet }) => {
  const reply = await juliet.request('profile:update', { nickname: 'Jules', locale: 'it-IT', address: { locality: 'Verona' } })
  assertValidReply('profile:update', reply)
  const expected = {
    userID: '@juliet@localhost',
    username: 'juliet',
    email: 'juliet@capulet.com',
    name: 'Juliet',
    nickname: 'Jules',
    locale: 'it-IT',
    address: { locality: 'Verona' },
    misc: { balcony: 'north' },
    createdAt,
  }
  assert.equal(reply.payload, expected)
  assert.equal(await own(juliet), expected)
})

test('null removes a field; an empty payload changes nothing', async ({ t, juliet }) => {
  const reply = await juliet.request('profile:update', { nickname: null, address: null })
  assertValidReply('profile:update', reply)
  assert.is(reply.payload.nickname, undefined)
  assert.is(reply.payload.address, undefined)
  assert.is(reply.payload.name, 'Juliet')
  // Removed from storage, not stored as null.
  const stored = (await t.server.deps.store.accounts.byUsername('juliet'))!.profile
  assert.equal(Object.keys(stored).sort(), ['locale', 'misc', 'name'])
  const before = await own(juliet)
  const empty = await juliet.request('profile:update', {})
  assertValidReply('profile:update', empty)
  assert.equal(empty.payload, before)
})

test('misc is replaced as a whole', async ({ juliet }) => {
  const reply = await juliet.request('profile:update', { misc: { suitors: 2, nurse: true } })
  assert.equal(reply.payload.misc, { suitors: 2, nurse: true })
  await juliet.request('profile:update', { misc: { balcony: 'north' } })
})

test('birthdate must be a real calendar date', async ({ juliet }) => {
  const refused = await juliet.request('profile:update', { birthdate: '2023-02-29' })
  assert.equal(refused.payload, {
    errID: 'invalid_payload',
    errText: 'The payload does not match the schema of this message type',
    errPayload: { errors: [{ path: '/payload/birthdate', message: 'must match format "date"' }] },
  })
  for (const birthdate of ['2024-13-01', '2024-2-9', '29.02.2024']) {
    assert.is((await juliet.request('profile:update', { birthdate })).payload.errID, 'invalid_payload', birthdate)
  }
  assert.is((await own(juliet)).birthdate, undefined)
  const leap = await juliet.request('profile:update', { birthdate: '2024-02-29' })
  assertValidReply('profile:update', leap)
  assert.is(leap.payload.birthdate, '2024-02-29')
})

test('URLs, locale and zoneinfo are checked', async ({ juliet }) => {
  for (const payload of [{ picture: 'not a url' }, { locale: 'x' }, { zoneinfo: '../etc/passwd' }]) {
    assert.is((await juliet.request('profile:update', payload)).payload.errID, 'invalid_payload', JSON.stringify(payload))
  }
})

test('a second user sees email only after email_public is true, and never misc or flags; the owner sees all', async ({ juliet, romeo }) => {
  // Read twice, so juliet's row is cached (on its second read) before the update must drop it.
  await romeo.request('profile:get', { userID: '@juliet@localhost' })
  const before = await romeo.request('profile:get', { userID: '@juliet@localhost' })
  assert.is(before.payload.email, undefined)
  assert.is(before.payload.misc, undefined)
  assert.is(before.payload.birthdate, undefined)

  const update = await juliet.request('profile:update', { email_public: true, birthdate_public: true })
  assert.is(update.payload.email_public, true)
  const after = await romeo.request('profile:get', { userID: '@juliet@localhost' })
  assertValidReply('profile:get', after)
  assert.is(after.payload.email, 'juliet@capulet.com')
  assert.is(after.payload.birthdate, '2024-02-29')
  assert.is(after.payload.misc, undefined)
  assert.is(after.payload.email_public, undefined)
  assert.is(after.payload.birthdate_public, undefined)

  const mine = await own(juliet)
  assert.equal(mine.misc, { balcony: 'north' })
  assert.is(mine.email_public, true)

  await juliet.request('profile:update', { email_public: false })
  assert.is((await romeo.request('profile:get', { userID: '@juliet@localhost' })).payload.email, undefined)
})

test('__proto__ and constructor keys are invalid_payload and nothing is stored', async ({ juliet }) => {
  const before = await own(juliet)
  // JSON.parse makes `__proto__` an own key, as it arrives on the wire (an object literal would set the prototype).
  const payloads = [
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '{"name": "Mallory", "__proto__": {"polluted": true}}',
    '{"misc": {"__proto__": {"polluted": true}}}',
    '{"misc": {"constructor": "x"}}',
    '{"misc": {"prototype": "x"}}',
    '{"address": {"__proto__": {"polluted": true}}}',
  ]
  for (const text of payloads) {
    const reply = await juliet.request('profile:update', JSON.parse(text))
    assert.is(reply.ok, false, text)
    assert.is(reply.payload.errID, 'invalid_payload', text)
  }
  const top = await juliet.request('profile:update', JSON.parse('{"__proto__": {"polluted": true}}'))
  assert.equal(top.payload.errPayload.errors, [{ path: '/payload/__proto__', message: 'must NOT have additional properties' }])
  assert.equal(await own(juliet), before)
  assert.is(({} as Record<string, unknown>).polluted, undefined)
})

test('fields a client may not write (mass assignment) are invalid_payload', async ({ juliet }) => {
  const before = await own(juliet)
  const attempts: Record<string, unknown>[] = [
    { userID: '@romeo@localhost' },
    { username: 'romeo' },
    { createdAt: 0 },
    { role: 'admin' },
    { email: 'mallory@evil.example' },
    { phone_number: '+1999999999' },
    { name: 'Mallory', role: 'admin' },
  ]
  for (const payload of attempts) {
    const reply = await juliet.request('profile:update', payload)
    const key = Object.keys(payload).find((k) => k !== 'name')!
    assert.equal(reply.payload.errPayload?.errors, [{ path: `/payload/${key}`, message: 'must NOT have additional properties' }], key)
  }
  assert.equal(await own(juliet), before)
})

test('an anonymous connection gets auth_required', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:update', { name: 'Mallory' })
  assert.equal(reply.payload, { errID: 'auth_required', errText: 'This message type needs an authenticated connection' })
})

test.run()
