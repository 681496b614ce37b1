// Extension types over real sockets: the shared pipeline, the handler context (payload, user, notify, log) and refusals.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { login, register } from '../support/accounts.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { within } from '../support/within.ts'
import { extensionDir, probeExtension } from './support.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer; logFile: string }>('extensions: handler context')

test.before(async (ctx) => {
  const ext = extensionDir()
  ctx.logFile = join(ext.dir, 'server.log')
  ctx.t = await startTestServer(
    { extensions: [ext.write('probe.mjs', probeExtension)], log: { level: 'info' } },
    { logFile: ctx.logFile },
  )
  const c = await ctx.t.connect()
  for (const username of ['juliet', 'romeo']) await register(c, { username, password, loginOnSuccess: false })
})
test.after(async (ctx) => ctx.t.close())

const ask = (client: { request(type: string, payload?: unknown): Promise<any> }, type: string, payload: object = {}) =>
  within(client.request(type, payload), 5000, `the reply to ${type}`)

test('server:info lists extension types with the built-in ones', async ({ t }) => {
  const info = await ask(await t.connect(), 'server:info')
  for (const type of ['probe:echo', 'probe:whoami', 'probe:notify', 'profile:login']) assert.ok(info.payload.types.includes(type), type)
})

test('payload arrives validated; anonymous requests see user null; the reply is whatever handle returned', async ({ t }) => {
  const c = await t.connect()
  const reply = await ask(c, 'probe:echo', { text: 'hello' })
  assert.equal(reply.ok, true)
  assert.equal(reply.payload.text, 'hello')
  assert.is(reply.payload.user, null)
  assert.is(reply.payload.type, 'probe:echo')
  assert.ok(/^t\d+$/.test(reply.payload.requestID))
  const bad = await ask(c, 'probe:echo', { text: 'x'.repeat(21) })
  assert.equal(bad.payload, { errID: 'invalid_payload', errText: errors.invalid_payload, errPayload: { errors: [{ path: '/payload/text', message: 'must NOT have more than 20 characters' }] } })
  const extra = await ask(c, 'probe:echo', { text: 'a', more: 1 })
  assert.is(extra.payload.errID, 'invalid_payload')
})

test('auth: required types answer auth_required to anonymous connections, and see {userID, deviceID} after login', async ({ t }) => {
  const anonymous = await ask(await t.connect(), 'probe:whoami')
  assert.equal(anonymous.payload, { errID: 'auth_required', errText: errors.auth_required })
  const juliet = await login(t, { username: 'juliet', password })
  const reply = await ask(juliet.client, 'probe:whoami')
  assert.equal(reply.payload, { user: { userID: juliet.userID, deviceID: juliet.deviceID } })
  assert.is(reply.to, juliet.userID)
})

test('notify reaches every live connection of the user, and says how many', async ({ t }) => {
  const romeo1 = await login(t, { username: 'romeo', password })
  const romeo2 = await login(t, { username: 'romeo', password })
  const juliet = await login(t, { username: 'juliet', password })
  const reply = await ask(juliet.client, 'probe:notify', { to: romeo1.userID })
  assert.equal(reply.payload, { reached: 2 })
  for (const client of [romeo1.client, romeo2.client]) {
    const event = await within(client.nextEvent('probe:poke'), 2000, 'probe:poke on each of romeo\'s devices')
    assert.ok(event.id.startsWith('ev:'))
    assert.equal(event.payload, { from: juliet.userID })
    assert.is(event.to, romeo1.userID)
  }
  const nobody = await ask(juliet.client, 'probe:notify', { to: '@nobody@localhost' })
  assert.equal(nobody.payload, { reached: 0 })
})

test('notify to a list of users: every live connection of each, each user once; one user\'s devices get the same complete frame', async ({ t }) => {
  // Users of this test alone: the earlier tests' connections to romeo and juliet are still open.
  for (const username of ['nurse', 'friar']) await register(await t.connect(), { username, password, loginOnSuccess: false })
  const [romeo1, romeo2, juliet1, juliet2] = [
    await login(t, { username: 'nurse', password }), await login(t, { username: 'nurse', password }),
    await login(t, { username: 'friar', password }), await login(t, { username: 'friar', password }),
  ]
  const to = [romeo1.userID, juliet1.userID, romeo1.userID, '@nobody@localhost']
  assert.equal((await ask(juliet1.client, 'probe:notify', { to })).payload, { reached: 4 }, 'the nurse\'s two devices and the friar\'s two, once each')
  const [r1, r2, j1, j2] = await Promise.all([romeo1, romeo2, juliet1, juliet2].map(({ client }) => within(client.nextEvent('probe:poke'), 2000, 'probe:poke on each device')))
  for (const [event, userID] of [[r1!, romeo1.userID], [r2!, romeo1.userID], [j1!, juliet1.userID], [j2!, juliet1.userID]] as const) {
    assert.equal(Object.keys(event).sort(), ['from', 'id', 'ok', 'payload', 'to', 'type'])
    assert.equal([event.type, event.from, event.to, event.ok, event.payload], ['probe:poke', 'localhost', userID, true, { from: juliet1.userID }])
  }
  assert.equal(r2, r1, 'the nurse\'s devices: one frame')
  assert.equal(j2, j1, 'the friar\'s devices: one frame')
  await ask(romeo1.client, 'probe:whoami')
  assert.equal(romeo1.client.events.filter((e) => e.type === 'probe:poke'), [], 'the nurse, named twice, got it once')
  assert.equal((await ask(juliet1.client, 'probe:notify', { to: [] })).payload, { reached: 0 })
  for (const badList of ['number', 'sparse', 'long']) {
    const bad = await ask(juliet1.client, 'probe:notify', { to: romeo1.userID, badList })
    assert.equal(bad.payload, { errID: 'internal_error', errText: errors.internal_error }, `a list: ${badList}`)
  }
  await ask(romeo1.client, 'probe:whoami')
  assert.equal(romeo1.client.events.filter((e) => e.type === 'probe:poke'), [], 'a refused notify sends nothing')
})

test('notify refuses event types in the server\'s namespaces and unnamespaced ones (internal_error, logged)', async ({ t, logFile }) => {
  const juliet = await login(t, { username: 'juliet', password })
  const romeo = await login(t, { username: 'romeo', password })
  for (const type of ['profile:session_revoked', 'device:new_login', 'server:info', 'verification:x', 'poke']) {
    const reply = await ask(juliet.client, 'probe:notify', { to: romeo.userID, type })
    assert.equal(reply.payload, { errID: 'internal_error', errText: errors.internal_error }, type)
  }
  assert.is(romeo.client.events.length, 0, 'no forged event reached romeo')
  assert.ok(readFileSync(logFile, 'utf8').includes('notify: event type \\"profile:session_revoked\\"'))
})

test('notify refuses an event over 1 MiB of JSON (the limit across nodes, on one node too) and sends one just under it', async ({ t, logFile }) => {
  const juliet = await login(t, { username: 'juliet', password })
  const romeo = await login(t, { username: 'romeo', password })
  const overhead = JSON.stringify({ from: juliet.userID, pad: '' }).length
  const over = await ask(juliet.client, 'probe:notify', { to: romeo.userID, pad: (1 << 20) - overhead + 1 })
  assert.equal(over.payload, { errID: 'internal_error', errText: errors.internal_error })
  assert.ok(readFileSync(logFile, 'utf8').includes('over the 1048576-byte limit of an event'))
  const under = await ask(juliet.client, 'probe:notify', { to: romeo.userID, pad: (1 << 20) - overhead })
  assert.ok(under.payload.reached >= 1, JSON.stringify(under.payload))
  const event = await within(romeo.client.nextEvent('probe:poke'), 5000, 'the 1 MiB probe:poke')
  assert.is(event.payload.pad.length, (1 << 20) - overhead)
})

test('a thrown {errID, errText?, errPayload?} answers that error', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await ask(c, 'probe:refuse', { how: 'plain' })).payload, { errID: 'not_found', errText: errors.not_found }, 'a server errID keeps its text')
  assert.equal((await ask(c, 'probe:refuse', { how: 'full' })).payload, { errID: 'too_late', errText: 'That was yesterday', errPayload: { at: 1 } })
  assert.equal((await ask(c, 'probe:refuse', { how: 'error_with_id' })).payload, { errID: 'gone', errText: 'gone' })
  const ok = await ask(c, 'probe:refuse', { how: 'nothing' })
  assert.equal([ok.ok, ok.payload], [true, {}], 'undefined answers {}')
})

test('anything else thrown (or a non-object reply) answers internal_error, logged, nothing leaked; the connection stays usable', async ({ t, logFile }) => {
  const c = await t.connect()
  for (const [type, payload] of [['probe:crash', {}], ['probe:refuse', { how: 'bad_id' }], ['probe:refuse', { how: 'string' }], ['probe:refuse', { how: 'array' }]] as const) {
    const reply = await ask(c, type, payload)
    assert.equal(reply.payload, { errID: 'internal_error', errText: errors.internal_error }, JSON.stringify(payload))
    assert.not.ok(JSON.stringify(reply).includes('secret'))
  }
  assert.equal((await ask(c, 'probe:echo', { text: 'still here' })).payload.text, 'still here')
  const log = readFileSync(logFile, 'utf8')
  assert.ok(log.includes('secret database path /var/lib/x'), 'the error is in the server log')
  assert.ok(log.includes('"msg":"handler failed"'))
})

test('/metrics counts extension types by name and their own errIDs as "other"', async ({ t }) => {
  const c = await t.connect()
  await ask(c, 'probe:refuse', { how: 'full' })
  await ask(c, 'probe:echo', { text: 'counted' })
  const text = await within(fetch(t.url.replace('ws://', 'http://') + 'metrics').then((r) => r.text()), 5000, '/metrics')
  assert.match(text, /hafnium_messages_total\{type="probe:refuse",outcome="other"\} [1-9]/)
  assert.match(text, /hafnium_messages_total\{type="probe:echo",outcome="ok"\} [1-9]/)
  assert.not.match(text, /too_late/)
})

test('one connection\'s requests are answered in order, a slow extension handler included', async ({ t }) => {
  const c = await t.connect()
  const order: string[] = []
  const slow = c.request('probe:slow', { ms: 150 }).then((r) => (order.push('slow'), r))
  const fast = c.request('probe:echo', { text: 'after' }).then((r) => (order.push('fast'), r))
  await within(Promise.all([slow, fast]), 5000, 'both replies')
  assert.equal(order, ['slow', 'fast'])
  assert.equal((await slow).payload, { slept: 150 })
})

test('log is a child logger carrying the request id and type', async ({ t, logFile }) => {
  const c = await t.connect()
  const reply = await ask(c, 'probe:refuse', { how: 'log' })
  const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('probe log line'))
  assert.ok(line, 'the handler logged')
  const entry = JSON.parse(line!)
  assert.is(entry.requestID, reply.id)
  assert.is(entry.type, 'probe:refuse')
})

test.run()
