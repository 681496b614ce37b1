// profile:register over a real socket: shapes of accounts, refusals, modes, races, secrets at rest, argon2 off the loop.
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { verifyThirdPIDs } from '../../support/accounts.ts'
import type { Reply } from '../../support/client.ts'
import { assertValidReply } from '../../support/schemas.ts'
import { storedBytes } from '../../support/engine.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'

const idExists = { errID: 'id_exists', errText: 'That identifier is already taken' }
const weak = (reason: string) => ({ errID: 'weak_password', errText: 'That password is too weak', errPayload: { reason, minLength: 8, maxLength: 256 } })
const invalid = (path: string, message: string) => ({
  errID: 'invalid_payload',
  errText: 'The payload does not match the schema of this message type',
  errPayload: { errors: [{ path, message }] },
})

/** The schema's own errors name the field; only the first one is asserted (ajv's messages are its own). */
function assertInvalidAt(reply: Reply, path: string): void {
  assert.is(reply.ok, false)
  assert.is(reply.payload.errID, 'invalid_payload', JSON.stringify(reply.payload))
  assert.is(reply.payload.errPayload.errors[0].path, path, JSON.stringify(reply.payload))
}

// ─── open registration ──────────────────────────────────────────────────────────────────────────

const open = suite<{ t: TestServer }>('profile:register')
open.before(async (ctx) => {
  ctx.t = await startTestServer()
})
open.after(async (ctx) => ctx.t.close())

open('a username alone: the user ID is the case-folded name; the connection stays anonymous', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:register', { username: 'Juliet.Capulet', password: 'romeo-montague' })
  assertValidReply('profile:register', reply)
  assert.equal(reply.payload, { userID: '@juliet.capulet@localhost', confirmationRequired: false })
  assert.is(reply.to, undefined)
  const account = await t.server.store.accounts.byUsername('juliet.capulet')
  assert.is(account?.userID, '@juliet.capulet@localhost')
  assert.is(account?.status, 'active')
  assert.equal(account?.thirdPIDs, [])
  assert.ok(account?.passwordHash?.startsWith('$argon2id$'))
  assert.is((await c.request('profile:login', { username: 'JULIET.CAPULET', password: 'romeo-montague' })).ok, true)
})

open('3PIDs alone: a raw user ID; the email is lowercased and the phone number made E.164', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:register', {
    thirdPIDs: [
      { type: 'email', value: 'Nurse@Verona.Example' },
      { type: 'msisdn', value: '+39 (045) 800-1234' },
    ],
    password: 'angelica-of-verona',
  })
  assertValidReply('profile:register', reply)
  assert.match(reply.payload.userID, /^@[a-z0-9]{16}@localhost$/)
  assert.is(reply.payload.confirmationRequired, false)
  const account = await t.server.store.accounts.byThirdPID({ type: 'msisdn', value: '+390458001234' })
  assert.is(account?.userID, reply.payload.userID)
  assert.is(account?.username, null)
  assert.equal(account?.thirdPIDs, [
    { type: 'email', value: 'nurse@verona.example', verified: false },
    { type: 'msisdn', value: '+390458001234', verified: false },
  ])
  assert.is((await c.request('profile:login', { thirdPID: 'NURSE@verona.example', password: 'angelica-of-verona' })).payload.userID, reply.payload.userID)
})

open('a username and a 3PID: the user ID comes from the username; both log in', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:register', { username: 'Romeo', thirdPIDs: [{ type: 'email', value: 'romeo@montague.example' }], password: 'poison-and-dagger' })
  assertValidReply('profile:register', reply)
  assert.equal(reply.payload, { userID: '@romeo@localhost', confirmationRequired: false })
  for (const name of [{ username: 'romeo' }, { loginID: 'Romeo@Montague.example' }]) {
    assert.is((await c.request('profile:login', { ...name, password: 'poison-and-dagger' })).payload.userID, '@romeo@localhost')
  }
})

open('invalid usernames, 3PIDs and missing fields → invalid_payload naming the field', async ({ t }) => {
  const c = await t.connect()
  const password = 'a-fine-password'
  for (const username of ['bad name', 'jüliet', 'ju\u200bliet', 'x'.repeat(65), '', 'juliet@localhost']) {
    assertInvalidAt(await c.request('profile:register', { username, password }), '/payload/username')
  }
  assert.equal(
    (await c.request('profile:register', { username: 'ok1', thirdPIDs: [{ type: 'email', value: 'not-an-email' }], password })).payload,
    invalid('/payload/thirdPIDs/0/value', 'is not a valid email'),
  )
  assert.equal(
    (await c.request('profile:register', { thirdPIDs: [{ type: 'email', value: 'a@b.example' }, { type: 'msisdn', value: '0123 45' }], password })).payload,
    invalid('/payload/thirdPIDs/1/value', 'is not a valid msisdn'),
  )
  assert.equal(
    (await c.request('profile:register', { thirdPIDs: [{ type: 'email', value: 'a@b.example' }, { type: 'email', value: 'c@d.example' }], password })).payload,
    invalid('/payload/thirdPIDs/1', 'only one email per account'),
  )
  assertInvalidAt(await c.request('profile:register', { thirdPIDs: [{ type: 'fax', value: '+12345678' }], password }), '/payload/thirdPIDs/0/type')
  assertInvalidAt(await c.request('profile:register', { thirdPIDs: [], password }), '/payload/thirdPIDs')
  assertInvalidAt(await c.request('profile:register', { password }), '/payload/username')
  assert.equal((await c.request('profile:register', { username: 'ok2' })).payload, invalid('/payload/password', 'is required without a verificationToken'))
  assertInvalidAt(await c.request('profile:register', { username: 'ok3', password, profile: { birthdate: '2001-02-30' } }), '/payload/profile/birthdate')
  assertInvalidAt(await c.request('profile:register', { username: 'ok4', password, admin: true }), '/payload/admin')
  for (const name of ['ok1', 'ok2', 'ok3', 'ok4']) assert.is(await t.server.store.accounts.byUsername(name), undefined)
  assert.is(await t.server.store.accounts.byThirdPID({ type: 'email', value: 'a@b.example' }), undefined)
})

open('a taken username (in any case) or verified 3PID → id_exists, and nothing is created', async ({ t }) => {
  const c = await t.connect()
  await c.request('profile:register', { username: 'tybalt', thirdPIDs: [{ type: 'email', value: 'tybalt@capulet.example' }, { type: 'msisdn', value: '+390450000001' }], password: 'prince-of-cats' })
  await verifyThirdPIDs(t, 'tybalt') // an unproven address would give way (test/hardening/pre-hijack.test.ts)
  assert.equal((await c.request('profile:register', { username: 'TyBaLt', password: 'another-password' })).payload, { ...idExists, errPayload: { field: 'username' } })
  assert.equal((await c.request('profile:register', { username: 'tybalt2', thirdPIDs: [{ type: 'email', value: 'Tybalt@CAPULET.example' }], password: 'another-password' })).payload, idExists)
  assert.equal((await c.request('profile:register', { thirdPIDs: [{ type: 'msisdn', value: '+39 045 000 0001' }], password: 'another-password' })).payload, idExists)
  assert.is(await t.server.store.accounts.byUsername('tybalt2'), undefined)
  assert.is((await t.server.store.accounts.byThirdPID({ type: 'email', value: 'tybalt@capulet.example' }))?.username, 'tybalt')
})

open('weak passwords → weak_password with errPayload.reason; the account is not created', async ({ t }) => {
  const c = await t.connect()
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ username: 'weak1', password: 'seven77' }, 'too_short'],
    [{ username: 'weak2', password: 'x'.repeat(257) }, 'too_long'],
    [{ username: 'weak3', password: 'password' }, 'common'],
    [{ username: 'weak4', password: 'PassWord1' }, 'common'],
    [{ username: 'weak5', password: 'zzzzzzzzzzzz' }, 'common'],
    [{ username: 'montague1', password: 'MONTAGUE1' }, 'context'],
    [{ username: 'benvolio', password: 'i-am-benvolio!' }, 'context'],
    [{ username: 'weak8', thirdPIDs: [{ type: 'email', value: 'County.Paris@verona.example' }], password: 'xx-county.paris-xx' }, 'context'],
    [{ username: 'weak9', thirdPIDs: [{ type: 'email', value: 'lady@verona.example' }], password: 'lady@verona.example' }, 'context'],
    [{ username: 'weak10', password: 'my-localhost-pw' }, 'context'],
  ]
  for (const [payload, reason] of cases) {
    const reply = await c.request('profile:register', payload)
    assert.equal(reply.payload, weak(reason), JSON.stringify(payload))
    assert.is(await t.server.store.accounts.byUsername(payload.username as string), undefined)
  }
  // The bounds themselves are allowed.
  for (const payload of [{ username: 'octo', password: 'eight888' }, { username: 'long256', password: 'y'.repeat(255) + 'z' }]) {
    const reply = await c.request('profile:register', payload)
    assert.is(reply.ok, true, JSON.stringify(reply.payload))
  }
})

open('a verificationToken that was never issued → invalid_token', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:register', { thirdPIDs: [{ type: 'email', value: 'friar@verona.example' }], verificationToken: 'abcdef0123456789' })
  assert.equal(reply.payload, { errID: 'invalid_token', errText: 'The token is not valid' })
  assert.is(await t.server.store.accounts.byThirdPID({ type: 'email', value: 'friar@verona.example' }), undefined)
})

open('loginOnSuccess: loginPayload, and the connection is authenticated as the new device', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:register', { username: 'mercutio', password: 'queen-mab-speech', loginOnSuccess: true, deviceName: 'lute' })
  assertValidReply('profile:register', reply)
  const { loginPayload } = reply.payload
  assert.is(reply.payload.userID, '@mercutio@localhost')
  assert.is(loginPayload.userID, '@mercutio@localhost')
  assert.match(loginPayload.authToken, /^[0-9a-f]{64}$/)
  assert.match(loginPayload.deviceID, /^[A-Z0-9]{10}$/)
  assert.is(reply.to, '@mercutio@localhost')
  const account = (await t.server.store.accounts.byUsername('mercutio'))!
  const devices = await t.server.store.devices.list(account.id)
  assert.equal(devices.map((d) => [d.id, d.name]), [[loginPayload.deviceID, 'lute']])
  // Later replies on the same socket carry `to` too, and the token works on another socket.
  assert.is((await c.request('server:ping')).to, '@mercutio@localhost')
  const other = await t.connect()
  assert.equal((await other.request('profile:auth', { authToken: loginPayload.authToken })).payload, { userID: '@mercutio@localhost', deviceID: loginPayload.deviceID })

  const without = await c.request('profile:register', { username: 'balthasar', password: 'servant-of-romeo', loginOnSuccess: false })
  assert.equal(without.payload, { userID: '@balthasar@localhost', confirmationRequired: false })
})

open('profile claims are stored; null claims are left out', async ({ t }) => {
  const c = await t.connect()
  const profile = { name: 'Lady Capulet', nickname: null, locale: 'it-IT', birthdate: '1980-05-04', website: 'https://capulet.example/', email_public: true, misc: { role: 'matriarch' } }
  const reply = await c.request('profile:register', { username: 'lady-capulet', password: 'house-of-capulet', profile })
  assertValidReply('profile:register', reply)
  const account = await t.server.store.accounts.byUsername('lady-capulet')
  assert.equal(account?.profile, { name: 'Lady Capulet', locale: 'it-IT', birthdate: '1980-05-04', website: 'https://capulet.example/', email_public: true, misc: { role: 'matriarch' } })
})

open('50 parallel registrations of one username over 50 sockets: exactly one wins', async ({ t }) => {
  const clients = await Promise.all(Array.from({ length: 50 }, () => t.connect()))
  const replies = await Promise.all(clients.map((c, i) => c.request('profile:register', { username: 'rosaline', password: `tender-${i}-petals` })))
  assertRaceResult(replies, '@rosaline@localhost')
})

open('50 parallel registrations of case variants of one name: exactly one wins', async ({ t }) => {
  const clients = await Promise.all(Array.from({ length: 50 }, () => t.connect()))
  const variant = (n: number) => [...'gregory'].map((ch, bit) => ((n >> bit) & 1 ? ch.toUpperCase() : ch)).join('')
  const replies = await Promise.all(clients.map((c, i) => c.request('profile:register', { username: variant(i + 1), password: `house-${i}-of-capulet` })))
  assert.is(new Set(replies.map((_, i) => variant(i + 1))).size, 50)
  assertRaceResult(replies, '@gregory@localhost')
})

function assertRaceResult(replies: Reply[], userID: string) {
  const won = replies.filter((r) => r.ok)
  assert.is(won.length, 1, JSON.stringify(replies.filter((r) => !r.ok && r.payload.errID !== 'id_exists')))
  assert.equal(won[0]!.payload, { userID, confirmationRequired: false })
  // Losers that passed the early check lose at the unique index, so errPayload may be absent.
  const lost = replies.filter((r) => !r.ok)
  assert.is(lost.length, 49)
  for (const r of lost) assert.is(r.payload.errID, 'id_exists')
}

open.run()

// ─── registration modes ─────────────────────────────────────────────────────────────────────────

const closed = suite<{ t: TestServer }>('profile:register (registration closed)')
closed.before(async (ctx) => {
  ctx.t = await startTestServer({ registration: { mode: 'closed' } })
})
closed.after(async (ctx) => ctx.t.close())

closed('every registration → reg_disabled', async ({ t }) => {
  const c = await t.connect()
  for (const payload of [{ username: 'juliet', password: 'romeo-montague' }, { thirdPIDs: [{ type: 'email', value: 'j@verona.example' }], password: 'romeo-montague', loginOnSuccess: true }]) {
    assert.equal((await c.request('profile:register', payload)).payload, { errID: 'reg_disabled', errText: 'Registration is disabled on this server' })
  }
  assert.is(await t.server.store.accounts.count(), 0)
})

closed.run()

const verified = suite<{ t: TestServer }>('profile:register (registration verified)')
verified.before(async (ctx) => {
  ctx.t = await startTestServer({ registration: { mode: 'verified' } })
})
verified.after(async (ctx) => ctx.t.close())

verified('without a verificationToken the account is pending: no login until confirmed', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:register', { username: 'juliet', thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }], password: 'romeo-montague', loginOnSuccess: true })
  assertValidReply('profile:register', reply)
  // `confirmation` names the code sent to the 3PID (verification tests cover it).
  assert.equal({ ...reply.payload, confirmation: undefined }, { userID: '@juliet@localhost', confirmationRequired: true, confirmation: undefined })
  assert.is(reply.payload.confirmation.destination, 'ju*****@*****.example')
  assert.is(reply.to, undefined)
  assert.is((await t.server.store.accounts.byUsername('juliet'))?.status, 'pending')
  assert.equal((await c.request('profile:login', { username: 'juliet', password: 'romeo-montague' })).payload, {
    errID: 'confirmation_required',
    errText: 'This account must be confirmed before logging in',
  })
  // The status is told only to someone holding the password.
  assert.is((await c.request('profile:login', { username: 'juliet', password: 'not-the-password' })).payload.errID, 'invalid_creds')
})

verified.run()

// ─── secrets at rest ────────────────────────────────────────────────────────────────────────────

const atRest = suite<{ t: TestServer; dir: string }>('profile:register (no secret at rest)')
atRest.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-secrets-'))
  ctx.t = await startTestServer({}, { dir: ctx.dir })
})
atRest.after(async (ctx) => {
  await ctx.t.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

atRest('no password, authToken or sudoToken appears in the database (its files, or its PostgreSQL tables), in any encoding', async ({ t, dir }) => {
  const passwords: string[] = []
  const authTokens: string[] = []
  const sudoTokens: string[] = []
  // profile:sudo is served (asserted, not assumed): its tokens are part of what must not be stored.
  const info = await (await t.connect()).request('server:info')
  assert.ok((info.payload.types as string[]).includes('profile:sudo'), 'profile:sudo is served')
  for (const name of ['juliet', 'romeo', 'nurse']) {
    const password = `the-secret-Qx7w-${name.length}${passwords.length}`
    passwords.push(password)
    const c = await t.connect()
    const reg = await c.request('profile:register', { username: name, thirdPIDs: [{ type: 'email', value: `${name}@verona.example` }], password, loginOnSuccess: true })
    assert.is(reg.ok, true, JSON.stringify(reg))
    authTokens.push(reg.payload.loginPayload.authToken)
    for (let i = 0; i < 3; i++) {
      const s = await t.connect()
      const login = await s.request('profile:login', { username: name, password })
      assert.is(login.ok, true)
      authTokens.push(login.payload.authToken)
      assert.is((await (await t.connect()).request('profile:auth', { authToken: login.payload.authToken })).ok, true)
      const sudo = await s.request('profile:sudo', { password })
      assert.is(sudo.ok, true, JSON.stringify(sudo))
      sudoTokens.push(sudo.payload.sudoToken)
    }
  }
  // On PostgreSQL: every value of every table of the server's schema (kept after close: its directory was given).
  const files = async () =>
    t.config.database.url
      ? (await storedBytes(t.config)).map((bytes) => ({ name: 'the PostgreSQL tables', bytes }))
      : readdirSync(dir).map((name) => ({ name, bytes: readFileSync(join(dir, name)) }))
  const live = await files() // while the server runs, the recent writes sit in hafnium.db-wal
  await t.close() // closing checkpoints the WAL into hafnium.db
  const tokens = [
    ...authTokens.map((token) => ({ token, raw: Buffer.from(token, 'hex') })),
    ...sudoTokens.map((token) => ({ token, raw: Buffer.from(token, 'base64url') })),
  ]
  assert.is(tokens.length, 21)
  for (const { name, bytes } of [...live, ...(await files())]) {
    for (const password of passwords) {
      for (const form of [Buffer.from(password), Buffer.from(Buffer.from(password).toString('base64')), Buffer.from(password, 'utf16le')]) {
        assert.is(bytes.indexOf(form), -1, `a password is in ${name}`)
      }
    }
    for (const { token, raw } of tokens) {
      for (const form of [Buffer.from(token), raw, Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('base64')), Buffer.from(raw.toString('base64url'))]) {
        assert.is(bytes.indexOf(form), -1, `a token is in ${name}`)
      }
    }
  }
  // Positive control: what the store does keep (usernames, token hashes) is found by the same search.
  const everything = Buffer.concat(live.map((f) => f.bytes))
  assert.ok(everything.includes(Buffer.from('@juliet@localhost')))
  for (const token of authTokens) assert.ok(everything.includes(createHash('sha256').update(token).digest()), 'token hash not found')
})

atRest.run()

// ─── argon2 does not block the event loop ───────────────────────────────────────────────────────

const loop = suite<{ t: TestServer }>('profile:register (argon2 off the event loop)')
loop.before(async (ctx) => {
  ctx.t = await startTestServer({ password: { argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 } } })
  const reg = await (await ctx.t.connect()).request('profile:register', { username: 'juliet', password: 'romeo-montague' })
  assert.is(reg.ok, true)
})
loop.after(async (ctx) => ctx.t.close())

loop('a server:ping is answered while 20 logins hash: it arrives before the last login reply', async ({ t }) => {
  const clients = await Promise.all(Array.from({ length: 20 }, () => t.connect()))
  const pinger = await t.connect()
  const arrivals: string[] = []
  let ping: Promise<Reply> | undefined
  const logins = clients.map((c, i) =>
    c.request('profile:login', { username: 'juliet', password: 'romeo-montague' }).then((reply) => {
      arrivals.push(`login${i}`)
      // Sent once the server is surely busy with the logins (one has finished, 19 are queued or hashing).
      ping ??= pinger.request('server:ping').then((pong) => {
        arrivals.push('ping')
        return pong
      })
      return reply
    }),
  )
  const replies = await Promise.all(logins)
  const pong = await ping!
  assert.is(pong.ok, true)
  for (const reply of replies) assert.is(reply.ok, true, JSON.stringify(reply.payload))
  assert.is(arrivals.length, 21)
  assert.ok(arrivals.at(-1)!.startsWith('login'), `arrival order: ${arrivals.join(' ')}`)
})

loop.run()
