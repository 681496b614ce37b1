// profile:login over a real socket: success, every refusal, backoff, events, and one argon2 evaluation per attempt.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { register } from '../../support/accounts.ts'
import { holdVerify } from '../../support/gate.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { assertValidReply } from '../../support/schemas.ts'
import { within } from '../../support/within.ts'

const test = suite<{ t: TestServer }>('profile:login')

test.before(async (ctx) => {
  ctx.t = await startTestServer({ sessions: { loginBackoff: { freeFailures: 2, baseMs: 60_000, maxMs: 600_000 } } })
  const c = await ctx.t.connect()
  await register(c, { username: 'Juliet', password: 'romeo-montague', thirdPIDs: [{ type: 'email', value: 'Juliet@Verona.example' }] })
  await c.request('profile:register', { username: 'nopass-later', password: 'balcony-scene-2' })
})
test.after(async (ctx) => ctx.t.close())

test('logs in by username, case-folded, and the connection is authenticated', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('profile:login', { username: 'JULIET', password: 'romeo-montague', deviceName: 'phone' })
  assert.is(reply.ok, true, JSON.stringify(reply))
  assertValidReply('profile:login', reply)
  assert.match(reply.payload.authToken, /^[0-9a-f]{64}$/)
  assert.match(reply.payload.deviceID, /^[A-Z0-9]{10}$/)
  assert.is(reply.payload.userID, '@juliet@localhost')
  assert.is(reply.to, '@juliet@localhost')
})

test('logs in by email (thirdPID and loginID)', async ({ t }) => {
  const c = await t.connect()
  const byThirdPID = await c.request('profile:login', { thirdPID: 'juliet@verona.example', password: 'romeo-montague' })
  assert.is(byThirdPID.ok, true, JSON.stringify(byThirdPID))
  const byLoginID = await c.request('profile:login', { loginID: 'JULIET@verona.example', password: 'romeo-montague' })
  assert.is(byLoginID.ok, true)
  assert.is.not(byLoginID.payload.deviceID, byThirdPID.payload.deviceID)
})

test('unknown user and wrong password: the same answer, one argon2 evaluation each', async ({ t }) => {
  const c = await t.connect()
  const hasher = t.server.deps.passwords
  let before = hasher.evaluations
  const unknown = await c.request('profile:login', { username: 'nobody', password: 'whatever-123' }, { id: 'x' })
  assert.is(hasher.evaluations - before, 1)
  before = hasher.evaluations
  const wrong = await c.request('profile:login', { username: 'nopass-later', password: 'whatever-123' }, { id: 'x' })
  assert.is(hasher.evaluations - before, 1)
  assert.equal(unknown, wrong)
  assert.equal(unknown.payload, { errID: 'invalid_creds', errText: "Username/password isn't valid" })
})

test('needs exactly one of username/thirdPID/loginID and one of password/verificationToken', async ({ t }) => {
  const c = await t.connect()
  const none = await c.request('profile:login', { password: 'x' })
  assert.is(none.payload.errID, 'invalid_payload')
  const both = await c.request('profile:login', { username: 'juliet', loginID: 'juliet', password: 'x' })
  assert.is(both.payload.errID, 'invalid_payload')
})

test('consecutive failures grow a per-account backoff; the right password is refused while it lasts', async ({ t }) => {
  const c = await t.connect()
  await c.request('profile:register', { username: 'romeo', password: 'poison-and-dagger' })
  for (let i = 0; i < 2; i++) assert.is((await c.request('profile:login', { username: 'romeo', password: 'wrong-one-1' })).payload.errID, 'invalid_creds')
  const third = await c.request('profile:login', { username: 'romeo', password: 'wrong-one-1' })
  assert.is(third.payload.errID, 'invalid_creds')
  const blocked = await c.request('profile:login', { username: 'romeo', password: 'poison-and-dagger' })
  assert.is(blocked.payload.errID, 'ratelimit_exceed')
  assert.ok(blocked.payload.errPayload.retryAfter > 59_000 && blocked.payload.errPayload.retryAfter <= 60_000)
})

test('8 wrong passwords at once answer as if sequential: 3 invalid_creds (freeFailures 2, then the block), 5 ratelimit_exceed (×20)', async ({ t }) => {
  const c = await t.connect()
  for (let round = 0; round < 20; round++) {
    const username = `paris${round}`
    await c.request('profile:register', { username, password: 'county-wedding-1' })
    // Three are held inside argon2 while the other five are answered: all eight passed the check before
    // argon2 (no failure was counted yet), the bad interleaving, every time. Without the re-check where the
    // failure is counted, all eight would answer invalid_creds: eight guesses where one by one allow three.
    const gate = holdVerify(t, 'wrong-guess-1', { count: 3 })
    const guesses = await Promise.all(Array.from({ length: 8 }, () => t.connect()))
    const replies = guesses.map((g) => g.request('profile:login', { username, password: 'wrong-guess-1' }, {}, { timeoutMs: 15_000 }))
    try {
      await gate.entered
      let answered = 0
      for (const reply of replies) void reply.then(() => answered++, () => {})
      await within(
        (async () => {
          while (answered < 5) await new Promise((resolve) => setTimeout(resolve, 5))
        })(),
        15_000,
        `round ${round}: the 5 logins not held in argon2 to be answered (${answered} were)`,
      )
      gate.release()
      const errIDs = (await Promise.all(replies)).map((reply) => reply.payload.errID).sort()
      assert.equal(errIDs, [...Array(3).fill('invalid_creds'), ...Array(5).fill('ratelimit_exceed')], `round ${round}`)
    } finally {
      gate.remove()
    }
    // The 3rd failure is past freeFailures (2): a 60 s block, which the right password meets too.
    const blocked = await c.request('profile:login', { username, password: 'county-wedding-1' })
    assert.is(blocked.payload.errID, 'ratelimit_exceed', `round ${round}: ${JSON.stringify(blocked.payload)}`)
    assert.ok(blocked.payload.errPayload.retryAfter > 50_000, `round ${round}: retryAfter ${blocked.payload.errPayload.retryAfter}`)
    for (const g of guesses) g.close()
  }
})

test('8 right passwords at once all log in: a success is not counted against the backoff', async ({ t }) => {
  const c = await t.connect()
  await c.request('profile:register', { username: 'benvolio', password: 'peace-keeper-1' })
  const gate = holdVerify(t, 'peace-keeper-1', { count: 8 })
  const logins = await Promise.all(Array.from({ length: 8 }, () => t.connect()))
  const replies = logins.map((l) => l.request('profile:login', { username: 'benvolio', password: 'peace-keeper-1' }, {}, { timeoutMs: 15_000 }))
  try {
    await gate.entered
  } finally {
    gate.remove()
  }
  for (const reply of await Promise.all(replies)) assert.is(reply.ok, true, JSON.stringify(reply.payload))
  for (const l of logins) l.close()
})

test('a successful login tells the other online devices (device:new_login)', async ({ t }) => {
  const first = await t.connect()
  const a = await first.request('profile:login', { username: 'juliet', password: 'romeo-montague', deviceName: 'laptop' })
  const second = await t.connect()
  const b = await second.request('profile:login', { username: 'juliet', password: 'romeo-montague', deviceName: 'tablet' })
  const event = await first.nextEvent('device:new_login')
  assert.is(event.payload.deviceID, b.payload.deviceID)
  assert.is(event.payload.deviceName, 'tablet')
  assert.is(event.to, a.payload.userID)
  assert.is(second.events.length, 0)
})

test.run()
