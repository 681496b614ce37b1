// profile:login {ticket} over real sockets (contract §13): each algorithm, every refusal, jti replay across a restart.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, base64url } from 'jose'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigError, loadConfig } from '../../../src/config.ts'
import { errors } from '../../../src/errors.ts'
import type { Config } from '../../../src/types/schemas.ts'
import { requestOk } from '../../support/accounts.ts'
import { manualClock, startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'

const secret = 'an-hs256-secret-of-at-least-32-bytes!'
const ed = generateKeyPairSync('ed25519')
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const pem = (key: typeof ed.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString()
const issuers: Config['tickets']['issuers'] = [
  { iss: 'https://hs.example', alg: 'HS256', secret },
  { iss: 'https://ed.example', alg: 'EdDSA', publicKey: pem(ed.publicKey) },
  { iss: 'https://ec.example', alg: 'ES256', publicKey: pem(ec.publicKey) },
]
const signers = {
  HS256: { iss: 'https://hs.example', key: new TextEncoder().encode(secret) },
  EdDSA: { iss: 'https://ed.example', key: ed.privateKey },
  ES256: { iss: 'https://ec.example', key: ec.privateKey },
} as const

const clock = manualClock()
let jtis = 0
const nowSeconds = () => Math.floor(clock.now() / 1000)

/** A ticket as an application backend signs it; `claims` and `alg`/`key` override the defaults. */
async function ticket(alg: keyof typeof signers, claims: Record<string, unknown> = {}, sign: { alg?: string; key?: unknown } = {}): Promise<string> {
  const signer = signers[alg]
  const body = { iss: signer.iss, sub: 'user-42', aud: 'localhost', iat: nowSeconds(), exp: nowSeconds() + 300, jti: `jti-${++jtis}`, ...claims }
  return new SignJWT(body).setProtectedHeader({ alg: sign.alg ?? alg }).sign((sign.key ?? signer.key) as Uint8Array)
}

const invalidToken = { errID: 'invalid_token', errText: errors.invalid_token }
const test = suite<{ t: TestServer; dir: string }>('profile:login with a ticket')

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-ticket-'))
  ctx.t = await startTestServer({ tickets: { issuers } }, { clock, dir: ctx.dir })
})
test.after(async (ctx) => {
  await ctx.t.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

async function loginWith(t: TestServer, token: string, extra: object = {}) {
  return (await t.connect()).request('profile:login', { ticket: token, ...extra })
}

test('each algorithm: a valid ticket signs in; the first creates the account, later ones find it', async ({ t }) => {
  for (const alg of ['HS256', 'EdDSA', 'ES256'] as const) {
    const sub = `first-${alg}`
    const first = await loginWith(t, await ticket(alg, { sub }), { deviceName: 'web' })
    assertValidReply('profile:login', first)
    assert.match(first.payload.userID, /^@[a-z0-9]{16}@localhost$/)
    const again = await loginWith(t, await ticket(alg, { sub }))
    assert.is(again.payload.userID, first.payload.userID, alg)
    assert.is.not(again.payload.deviceID, first.payload.deviceID)
    const c = await t.connect()
    const own = await requestOk(c, 'profile:auth', { authToken: first.payload.authToken })
    assert.is(own.payload.userID, first.payload.userID)
    const profile = await requestOk(c, 'profile:get', {})
    assert.is(profile.payload.guest, undefined, 'a ticket account is not a guest')
  }
  // Another issuer's same sub is another account.
  const hs = await loginWith(t, await ticket('HS256', { sub: 'shared' }))
  const ed2 = await loginWith(t, await ticket('EdDSA', { sub: 'shared' }))
  assert.is.not(hs.payload.userID, ed2.payload.userID)
})

test('refused with invalid_token: expired, not yet valid, too long-lived, wrong aud, unknown iss, bad signature, alg none, algorithm confusion', async ({ t }) => {
  const now = nowSeconds()
  const valid = await ticket('HS256')
  const [header, body] = valid.split('.')
  const cases: [string, string][] = [
    ['expired beyond the 30 s skew', await ticket('HS256', { iat: now - 400, exp: now - 31 })],
    ['issued in the future beyond the skew', await ticket('HS256', { iat: now + 60, exp: now + 300 })],
    ['exp more than 600 s after iat', await ticket('HS256', { iat: now, exp: now + 601 })],
    ['wrong aud', await ticket('HS256', { aud: 'elsewhere.example' })],
    ['unknown iss', await ticket('HS256', { iss: 'https://stranger.example' })],
    ['no jti', await ticket('HS256', { jti: undefined })],
    ['no sub', await ticket('HS256', { sub: undefined })],
    ['bad signature', `${header}.${body}.${base64url.encode(new Uint8Array(32).fill(7))}`],
    ['signed with another secret', await ticket('HS256', {}, { key: new TextEncoder().encode('x'.repeat(40)) })],
    ['alg none', `${base64url.encode(JSON.stringify({ alg: 'none' }))}.${body}.`],
    // HS256 keyed with the EdDSA issuer's public key (which an attacker can read): the issuer's alg is fixed.
    ['HS256 with the EdDSA public key as secret', await ticket('EdDSA', {}, { alg: 'HS256', key: new TextEncoder().encode(pem(ed.publicKey)) })],
    ['EdDSA issuer, ES256 signature', await ticket('EdDSA', {}, { alg: 'ES256', key: ec.privateKey })],
    ['not a JWT at all', 'abc.def.ghi'],
  ]
  for (const [label, token] of cases) {
    const reply = await loginWith(t, token)
    assert.equal(reply.payload, invalidToken, label)
  }
  // Within the skew both ways is fine.
  assert.is((await loginWith(t, await ticket('HS256', { iat: now + 20, exp: now + 25 }))).ok, true)
  assert.is((await loginWith(t, await ticket('HS256', { iat: now - 300, exp: now - 20 }))).ok, true)
})

test('a ticket works once: a replay is invalid_token, also racing, also after a restart on the same file', async (ctx) => {
  const token = await ticket('ES256', { sub: 'replayer' })
  const racing = await Promise.all([loginWith(ctx.t, token), loginWith(ctx.t, token), loginWith(ctx.t, token)])
  assert.is(racing.filter((r) => r.ok).length, 1, JSON.stringify(racing.map((r) => r.payload)))
  for (const r of racing.filter((r) => !r.ok)) assert.equal(r.payload, invalidToken)

  await ctx.t.close()
  ctx.t = await startTestServer({ tickets: { issuers } }, { clock, dir: ctx.dir })
  clock.advance(60_000) // still inside the ticket's life
  assert.equal((await loginWith(ctx.t, token)).payload, invalidToken)
  assert.is((await loginWith(ctx.t, await ticket('ES256', { sub: 'replayer' }))).ok, true)
})

test('used ticket IDs are swept once their tickets have expired', async ({ t }) => {
  const store = t.server.deps.store
  await store.tickets.prune(clock.now()) // earlier tests' expired tickets
  const token = await ticket('HS256', { sub: 'sweep' })
  await loginWith(t, token)
  assert.is(await store.tickets.prune(clock.now()), 0, "a live ticket's jti stays")
  assert.equal((await loginWith(t, token)).payload, invalidToken)
  assert.ok((await store.tickets.prune(clock.now() + 301_000)) >= 1, "the expired ticket's jti is swept")
})

test('a disabled account: user_disabled, and the ticket is not used up', async ({ t }) => {
  const first = await loginWith(t, await ticket('HS256', { sub: 'banned' }))
  const { accounts } = t.server.deps.store
  const account = await accounts.byUserID(first.payload.userID)
  await accounts.setStatus(account!.id, 'disabled', clock.now())
  const token = await ticket('HS256', { sub: 'banned' })
  assert.equal((await loginWith(t, token)).payload, { errID: 'user_disabled', errText: errors.user_disabled })
  await accounts.setStatus(account!.id, 'active', clock.now())
  assert.is((await loginWith(t, token)).payload.userID, first.payload.userID)
})

test('tickets.autoCreate false: an unknown pair is not_found, a linked one signs in', async (ctx) => {
  const linked = await loginWith(ctx.t, await ticket('EdDSA', { sub: 'known' }))
  await ctx.t.close()
  ctx.t = await startTestServer({ tickets: { issuers, autoCreate: false } }, { clock, dir: ctx.dir })
  const before = await ctx.t.server.deps.store.accounts.count()
  assert.equal((await loginWith(ctx.t, await ticket('EdDSA', { sub: 'unknown' }))).payload, { errID: 'not_found', errText: errors.not_found })
  assert.is(await ctx.t.server.deps.store.accounts.count(), before)
  assert.is((await loginWith(ctx.t, await ticket('EdDSA', { sub: 'known' }))).payload.userID, linked.payload.userID)
})

test('a ticket with a name or a password beside it is invalid_payload; server:info says tickets are on', async ({ t }) => {
  const token = await ticket('HS256')
  assert.is((await loginWith(t, token, { username: 'juliet' })).payload.errID, 'invalid_payload')
  assert.is((await loginWith(t, token, { password: 'romeo-montague' })).payload.errID, 'invalid_payload')
  const info = await requestOk(await t.connect(), 'server:info', {})
  assert.equal(info.payload.features, { guests: false, tickets: true, deviceAuthorization: true, captcha: [], providers: [] })
})

test('config: a short HS256 secret, a malformed or wrong-kind PEM, a private key, a duplicate issuer stop start-up naming the key', () => {
  const bad: [Config['tickets']['issuers'], RegExp][] = [
    [[{ iss: 'a', alg: 'HS256', secret: 'x'.repeat(31) }], /^config: tickets\.issuers\.0\.secret: issuer "a": an HS256 secret needs at least 32 bytes/],
    [[issuers[0]!, { iss: 'b', alg: 'EdDSA', publicKey: '-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----' }], /^config: tickets\.issuers\.1\.publicKey: issuer "b": is not a PEM public key/],
    [[{ iss: 'c', alg: 'ES256', publicKey: pem(ed.publicKey) }], /^config: tickets\.issuers\.0\.publicKey: issuer "c": is a ed25519 key, ES256 needs P-256/],
    [[{ iss: 'd', alg: 'EdDSA', publicKey: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }], /tickets\.issuers\.0\.publicKey: issuer "d": is a private key/],
    [[issuers[0]!, issuers[0]!], /^config: tickets\.issuers\.1\.iss: issuer "https:\/\/hs\.example" is configured twice/],
    [[{ iss: 'e', alg: 'HS256' }], /^config: tickets\.issuers\.0/],
    [[{ iss: 'f', alg: 'ES256', secret }], /^config: tickets\.issuers\.0/],
  ]
  for (const [list, message] of bad) {
    try {
      loadConfig({ overrides: { tickets: { issuers: list } } })
      assert.unreachable(`accepted ${JSON.stringify(list).slice(0, 80)}`)
    } catch (error) {
      assert.instance(error, ConfigError)
      assert.match((error as Error).message, message)
    }
  }
  assert.is(loadConfig({ overrides: { tickets: { issuers } } }).tickets.issuers.length, 3)
})

test.run()
