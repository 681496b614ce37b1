// Hostile JSON, smoke tier: depth and width bombs, lone surrogates and NUL, out-of-range numbers,
// __proto__/constructor keys at every level. Each gets its documented reply (malformed_message,
// invalid_payload) or close code, the prototype stays clean, and the same socket still answers a ping.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import type { Reply, TestClient } from '../support/client.ts'
import { assertValidReply } from '../support/schemas.ts'
import { deadline } from './support.ts'

const test = suite<{ t: TestServer; c: TestClient; authed: TestClient }>('hardening: hostile JSON')
test.before(async (ctx) => {
  ctx.t = await startTestServer()
  ctx.c = await ctx.t.connect()
  ctx.authed = await ctx.t.connect()
  assert.ok((await ctx.authed.request('profile:register', { username: 'juliet', password: 'balcony-scene-2', loginOnSuccess: true })).ok)
})
test.after(async (ctx) => ctx.t.close())

const malformed = (id: string, type: string, path: string, message: string) => ({
  id,
  type,
  from: 'localhost',
  ok: false,
  payload: { errID: 'malformed_message', errText: errors.malformed_message, errPayload: { errors: [{ path, message }] } },
})
const invalid = (path: string, message: string) => ({
  errID: 'invalid_payload',
  errText: errors.invalid_payload,
  errPayload: { errors: [{ path, message }] },
})
const extra = 'must NOT have additional properties'

/** Sends raw text (must stay under maxMessageBytes) and returns the reply; then checks the socket still works. */
async function send(c: TestClient, text: string): Promise<Reply> {
  assert.ok(Buffer.byteLength(text) <= 65536, `frame of ${Buffer.byteLength(text)} bytes`)
  c.sendRaw(text)
  const reply = await deadline(c.nextReply(), 10_000, 'reply')
  assert.ok((await c.request('server:ping')).ok, 'still answering')
  return reply
}

const envelope = (payloadJSON: string, id = 'x', type = 'server:ping') => `{"id":"${id}","type":"${type}","to":"localhost","payload":${payloadJSON}}`

test('depth bombs: 30,000 nested arrays, 10,000 nested objects, as the frame, the id and a payload value', async ({ c, authed }) => {
  const arrays = '['.repeat(30_000) + ']'.repeat(30_000)
  const objects = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)
  assert.equal(await send(c, arrays), malformed('', '', '', 'must be object'))
  assert.equal(await send(c, `{"id":${arrays},"type":"server:ping","to":"localhost","payload":{}}`), malformed('', 'server:ping', '/id', 'must be string'))
  assert.equal((await send(c, envelope(`{"x":${arrays}}`, 'd1'))).payload, invalid('/payload/x', extra))
  assert.equal((await send(c, envelope(objects, 'd2'))).payload, invalid('/payload/a', extra))
  // A field whose schema accepts an object: the bomb sits one level further in.
  const update = await send(authed, envelope(`{"address":{"formatted":${arrays}}}`, 'd3', 'profile:update'))
  assert.equal(update.payload, invalid('/payload/address/formatted', 'must be string'))
})

test('width bombs: 5,000 keys in the envelope and in the payload, 20,000-element arrays', async ({ c }) => {
  const keys = '{' + Array.from({ length: 5000 }, (_, i) => `"k${i}":0`).join(',') + '}'
  assert.equal((await send(c, envelope(keys, 'w1'))).payload, invalid('/payload/k0', extra))
  const wide = `{"id":"w2","type":"server:ping","to":"localhost","payload":{},${keys.slice(1)}`
  assert.equal(await send(c, wide), malformed('w2', 'server:ping', '/k0', extra))
  const array = '[' + Array(20_000).fill('0').join(',') + ']'
  assert.equal((await send(c, envelope(`{"username":${array}}`, 'w3', 'profile:check_username'))).payload, invalid('/payload/username', 'must be string'))
})

test('lone surrogates and NUL: echoed safely in the id, refused in identifiers; bad UTF-8 closes with 1007', async ({ t, c }) => {
  for (const id of ['\\ud800', '\\udfff', 'a\\u0000b', '\\ud83d\\ude00']) {
    const reply = await send(c, envelope('{}', id))
    assert.equal(reply, { id: JSON.parse(`"${id}"`), type: 'server:ping', from: 'localhost', ok: true, payload: {} })
  }
  for (const username of ['\\ud800', 'jul\\u0000iet']) {
    const reply = await send(c, envelope(`{"username":"${username}"}`, 's1', 'profile:check_username'))
    assert.is(reply.payload.errID, 'invalid_payload')
    assert.is(reply.payload.errPayload.errors[0].path, '/payload/username')
  }
  assert.equal((await send(c, `{"id":"s2","type":"server:ping","to":"local\\u0000host","payload":{}}`)).payload.errID, 'wrong_server')
  assert.equal((await send(c, `{"id":"s3","type":"server:\\ud800","to":"localhost","payload":{}}`)).payload.errID, 'unhandled')
  // A lone surrogate in a password reaches argon2 (as U+FFFD once encoded): answered, never a crash.
  const reg = await send(c, envelope('{"username":"surrogate","password":"pass\\ud800word-long"}', 's4', 'profile:register'))
  assert.ok(reg.ok === true || reg.payload.errID === 'weak_password', JSON.stringify(reg))
  const raw = await t.connect()
  raw.sendRaw(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]))
  assert.is((await deadline(raw.closed, 10_000, 'close')).code, 1007)
})

test('out-of-range numbers: 1e400, 400-digit integers, -0 where strings or nothing belong', async ({ c }) => {
  const big = '9'.repeat(400)
  assert.equal(await send(c, `{"id":1e400,"type":"server:ping","to":"localhost","payload":{}}`), malformed('', 'server:ping', '/id', 'must be string'))
  assert.equal(await send(c, `{"id":"n1","type":${big},"to":"localhost","payload":{}}`), malformed('n1', '', '/type', 'must be string'))
  assert.equal((await send(c, envelope(`{"n":-1e400}`, 'n2'))).payload, invalid('/payload/n', extra))
  assert.equal((await send(c, envelope(`{"username":${big}}`, 'n3', 'profile:check_username'))).payload, invalid('/payload/username', 'must be string'))
  assert.equal((await send(c, envelope(`{"loginID":-0}`, 'n4', 'profile:check_account'))).payload, invalid('/payload/loginID', 'must be string'))
})

test('__proto__ and constructor keys at every level are refused; no prototype is touched', async ({ c, authed }) => {
  const poison = '{"isAdmin":true,"prototype":{"isAdmin":true}}'
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    assert.equal(await send(c, `{"id":"p1","type":"server:ping","to":"localhost","payload":{},"${key}":${poison}}`), malformed('p1', 'server:ping', `/${key}`, extra))
    assert.equal((await send(c, envelope(`{"${key}":${poison}}`, 'p2'))).payload, invalid(`/payload/${key}`, extra))
    assert.equal((await send(authed, envelope(`{"${key}":${poison}}`, 'p3', 'profile:update'))).payload, invalid(`/payload/${key}`, extra))
    assert.equal(
      (await send(authed, envelope(`{"address":{"${key}":${poison}}}`, 'p4', 'profile:update'))).payload,
      invalid(`/payload/address/${key}`, extra),
    )
    const register = envelope(`{"username":"proto","password":"balcony-scene-2","profile":{"${key}":${poison}}}`, 'p5', 'profile:register')
    assert.equal((await send(c, register)).payload, invalid(`/payload/profile/${key}`, extra))
  }
  assert.is(({} as Record<string, unknown>).isAdmin, undefined)
  assert.equal(Object.keys(Object.prototype), [])
  const me = await authed.request('profile:get', {})
  assertValidReply('profile:get', me)
  assert.not.ok('isAdmin' in me.payload)
  assert.is((await c.request('profile:check_username', { username: 'proto' })).payload.available, true, 'nothing was registered')
})

test.run()
