// Every global error of contract §3 over a real socket, with whole replies asserted.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { login, register } from '../support/accounts.ts'

const test = suite<{ t: TestServer }>('envelope and global errors')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ server: { domains: ['localhost', 'cadmium.org'] } })
})
test.after(async (ctx) => ctx.t.close())

const malformed = (id: string, type: string, errs: { path: string; message: string }[]) => ({
  id,
  type,
  from: 'localhost',
  ok: false,
  payload: { errID: 'malformed_message', errText: errors.malformed_message, errPayload: { errors: errs } },
})

test('not JSON, not an object: malformed_message with empty id and type', async ({ t }) => {
  const c = await t.connect()
  c.sendRaw('{"id": "1", "type":')
  assert.equal(await c.nextReply(), malformed('', '', [{ path: '', message: 'is not valid JSON' }]))
  c.sendRaw('[1,2,3]')
  assert.equal(await c.nextReply(), malformed('', '', [{ path: '', message: 'must be object' }]))
  c.sendRaw('null')
  assert.equal((await c.nextReply()).payload.errID, 'malformed_message')
})

test('envelope breaks: missing, extra and wrong-typed fields; usable id/type are echoed', async ({ t }) => {
  const c = await t.connect()
  c.sendRaw(JSON.stringify({ id: 'a1', type: 'server:ping', to: 'localhost' }))
  assert.equal(await c.nextReply(), malformed('a1', 'server:ping', [{ path: '/payload', message: "must have required property 'payload'" }]))
  c.sendRaw(JSON.stringify({ id: 'a2', type: 'server:ping', to: 'localhost', payload: {}, extra: 1 }))
  assert.equal(await c.nextReply(), malformed('a2', 'server:ping', [{ path: '/extra', message: 'must NOT have additional properties' }]))
  c.sendRaw(JSON.stringify({ id: 7, type: 'server:ping', to: 'localhost', payload: {} }))
  assert.equal(await c.nextReply(), malformed('', 'server:ping', [{ path: '/id', message: 'must be string' }]))
  c.sendRaw(JSON.stringify({ id: 'x'.repeat(65), type: 'server:ping', to: 'localhost', payload: {} }))
  assert.equal((await c.nextReply()).id, '', 'an over-long id is not echoed')
  c.sendRaw(JSON.stringify({ id: 'a3', type: 'server:ping', to: 'localhost', payload: [] }))
  assert.equal((await c.nextReply()).payload.errPayload.errors, [{ path: '/payload', message: 'must be object' }])
  c.sendRaw(JSON.stringify({ id: '', type: 'server:ping', to: 'localhost', payload: {} }))
  assert.equal((await c.nextReply()).payload.errID, 'malformed_message')
})

test('`from` is accepted and ignored', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('server:ping', {}, { from: '@admin@localhost' })
  assert.equal(reply, { id: reply.id, type: 'server:ping', from: 'localhost', ok: true, payload: {} })
})

test('wrong_server for a domain not served; every served domain answers as itself', async ({ t }) => {
  const c = await t.connect()
  const wrong = await c.request('server:ping', {}, { id: 'w', to: 'example.com' })
  assert.equal(wrong, { id: 'w', type: 'server:ping', from: 'localhost', ok: false, payload: { errID: 'wrong_server', errText: errors.wrong_server } })
  const other = await c.request('server:ping', {}, { id: 'o', to: 'cadmium.org' })
  assert.equal(other, { id: 'o', type: 'server:ping', from: 'cadmium.org', ok: true, payload: {} })
})

test('unhandled for an unknown type', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('chat:send', { text: 'hi' }, { id: 'u' })
  assert.equal(reply, { id: 'u', type: 'chat:send', from: 'localhost', ok: false, payload: { errID: 'unhandled', errText: errors.unhandled } })
})

test('invalid_payload lists {path, message} with JSON pointers under /payload', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:auth', { authToken: 'not-hex' }, { id: 'p' })
  assert.equal(reply.payload, {
    errID: 'invalid_payload',
    errText: errors.invalid_payload,
    errPayload: { errors: [{ path: '/payload/authToken', message: 'must match pattern "^[0-9a-f]{64}$"' }] },
  })
  const extra = await c.request('server:ping', { __proto__: { admin: true } } as never)
  assert.is(extra.ok, true, 'an inherited key is not sent by JSON.stringify')
  c.sendRaw('{"id":"q","type":"server:ping","to":"localhost","payload":{"__proto__":{"admin":true}}}')
  assert.equal((await c.nextReply()).payload.errPayload.errors, [{ path: '/payload/__proto__', message: 'must NOT have additional properties' }])
})

test('auth_required for a locked type on an anonymous connection', async ({ t }) => {
  // device:list needs auth; the test means something only while it is served, so that is asserted, not assumed.
  const c = await t.connect()
  const info = await c.request('server:info')
  const locked = 'device:list'
  assert.ok(info.payload.types.includes(locked), `${locked} is served`)
  const reply = await c.request(locked, {}, { id: 'l' })
  assert.equal(reply, { id: 'l', type: locked, from: 'localhost', ok: false, payload: { errID: 'auth_required', errText: errors.auth_required } })
})

test("every reply's text is JSON.stringify's of the same object (router.ts writes the envelope by hand)", async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'tybalt', password: 'prince-of-cats-1', profile: { nickname: 'Ty "the cat" \\ \u2028 🐈' } })
  const { client: signedIn } = await login(t, { username: 'tybalt', password: 'prince-of-cats-1' })
  const raws: string[] = []
  for (const client of [c, signedIn]) client.ws.on('message', (data) => raws.push(String(data)))
  // Quotes, backslashes, control characters, line separators, a lone surrogate, astral characters.
  const ids = ['plain', 'q"uo\\te', '\u0000\u001f\t\n', '\u2028\u2029</script>', '\ud800 lone', '🐈‍⬛ é']
  const types = ['server:ping', 'profile:get', 'x:"un\\known"', 'server:ping']
  const expected: string[] = []
  for (const client of [c, signedIn]) {
    for (const [i, type] of types.entries()) {
      const id = ids[i % ids.length]! + i
      // The lone surrogate goes as JSON's own escape, as a client would write it.
      client.sendRaw(JSON.stringify({ id, type, to: 'localhost', payload: i === 3 ? { unexpected: 1 } : {} }))
      expected.push(id)
      await client.nextReply()
    }
  }
  assert.is(raws.length, expected.length, 'one reply per request, no event')
  for (const [i, raw] of raws.entries()) {
    assert.is(raw, JSON.stringify(JSON.parse(raw)), `reply ${i}`)
    assert.is(JSON.parse(raw).id, expected[i])
  }
  assert.ok(raws.some((raw) => raw.includes('"to":"@tybalt@localhost"')), 'the signed-in replies carry to')
  assert.ok(raws.some((raw) => raw.includes('"nickname":"Ty')), 'the owner profile')
})

test('internal_error: nothing internal disclosed, and the connection stays usable', async () => {
  // Fault injection on a server of its own: its database goes away under it, after the account was made there.
  const t2 = await startTestServer()
  const c2 = await t2.connect()
  const reg = await c2.request('profile:register', { username: 'broken', password: 'a-fine-password' })
  assert.is(reg.ok, true)
  t2.server.store.close()
  const reply = await c2.request('profile:login', { username: 'broken', password: 'a-fine-password' }, { id: 'i' })
  assert.equal(reply, { id: 'i', type: 'profile:login', from: 'localhost', ok: false, payload: { errID: 'internal_error', errText: errors.internal_error } })
  assert.is((await c2.request('server:ping')).ok, true)
  c2.terminate()
  await t2.close().catch(() => {})
})

test.run()
