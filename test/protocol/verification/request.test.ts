// verification:request over real sockets: addressing, each purpose's rules, supersede, send limits, the code lock.
import { storedBytes } from '../../support/engine.ts'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { login, register, verifyThirdPIDs } from '../../support/accounts.ts'
import { startCodeServer, type CodeServer } from '../../support/codes.ts'
import { assertValidReply } from '../../support/schemas.ts'
import { manualClock } from '../../support/server.ts'

const password = 'balcony-scene-2'
const err = (errID: keyof typeof errors, errPayload?: object) => ({ errID, errText: errors[errID], ...(errPayload && { errPayload }) })

const test = suite<{ t: CodeServer }>('verification:request')

test.before(async (ctx) => {
  ctx.t = await startCodeServer()
  const c = await ctx.t.connect()
  for (const [username, email, msisdn] of [
    ['juliet', 'juliet@verona.example', '+390458001234'],
    ['romeo', 'romeo@verona.example', null],
  ] as const) {
    const thirdPIDs = [{ type: 'email', value: email }, ...(msisdn ? [{ type: 'msisdn', value: msisdn }] : [])]
    await register(c, { username, password, thirdPIDs })
    // Only a proven address reserves itself and receives login and reset codes: these are proven.
    await verifyThirdPIDs(ctx.t, username)
  }
})
test.after(async (ctx) => ctx.t.close())

test('signup: a code goes to a free email; the reply names it blurred', async ({ t }) => {
  const c = await t.connect()
  const reply = await c.request('verification:request', { purpose: 'signup', thirdPID: 'Nurse@Verona.example' })
  assertValidReply('verification:request', reply)
  assert.match(reply.payload.verificationID, /^[A-Za-z0-9_-]{22}$/)
  assert.equal({ ...reply.payload, verificationID: 'x' }, { verificationID: 'x', expiresIn: 600, resendAfter: 0, destination: 'nu*****@*****.example' })
  const [sent] = (await t.sent()).filter((m) => m.to === 'nurse@verona.example')
  assert.is(sent?.channel, 'email')
  assert.is(sent?.purpose, 'signup')
  assert.match(sent!.code, /^[0-9]{6}$/)
})

test('signup: a phone number works too (destination keeps its last two digits)', async ({ t }) => {
  const reply = await (await t.connect()).request('verification:request', { purpose: 'signup', thirdPID: '+39 045 800 9999' })
  assertValidReply('verification:request', reply)
  assert.is(reply.payload.destination, '*'.repeat(11) + '99')
  assert.match(await t.lastCode('+390458009999', 'signup'), /^[0-9]{6}$/)
})

test('signup: a 3PID an account uses → id_exists (by thirdPID and by username + channel)', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('verification:request', { purpose: 'signup', thirdPID: 'JULIET@verona.example' })).payload, err('id_exists'))
  assert.equal((await c.request('verification:request', { purpose: 'signup', username: 'juliet', channel: 'email' })).payload, err('id_exists'))
})

test('login and reset_password: need a 3PID an account uses → else not_found', async ({ t }) => {
  const c = await t.connect()
  for (const purpose of ['login', 'reset_password']) {
    assertValidReply('verification:request', await c.request('verification:request', { purpose, thirdPID: 'romeo@verona.example' }))
    assert.is((await t.lastCode('romeo@verona.example', purpose)).length, 6)
    assert.equal((await c.request('verification:request', { purpose, thirdPID: 'nobody@verona.example' })).payload, err('not_found'))
  }
})

test('username + channel: the code goes to that account’s 3PID of that type', async ({ t }) => {
  const c = await t.connect()
  const bySms = await c.request('verification:request', { purpose: 'login', username: 'Juliet', channel: 'msisdn' })
  assertValidReply('verification:request', bySms)
  assert.is(bySms.payload.destination, '*'.repeat(11) + '34')
  assert.ok(await t.lastCode('+390458001234', 'login'))
  // romeo has no phone; nobody has no account.
  assert.equal((await c.request('verification:request', { purpose: 'login', username: 'romeo', channel: 'msisdn' })).payload, err('not_found'))
  assert.equal((await c.request('verification:request', { purpose: 'login', username: 'nobody', channel: 'email' })).payload, err('not_found'))
})

test('confirm: only for a pending account → not_found for an active one or none', async ({ t }) => {
  const c = await t.connect()
  assert.equal((await c.request('verification:request', { purpose: 'confirm', thirdPID: 'juliet@verona.example' })).payload, err('not_found'))
  assert.equal((await c.request('verification:request', { purpose: 'confirm', thirdPID: 'nobody@verona.example' })).payload, err('not_found'))
})

test('bind and sudo need an authenticated connection; so does channel without a username', async ({ t }) => {
  const c = await t.connect()
  const authRequired = err('auth_required')
  assert.equal((await c.request('verification:request', { purpose: 'bind', thirdPID: 'new@verona.example' })).payload, authRequired)
  assert.equal((await c.request('verification:request', { purpose: 'sudo', channel: 'email' })).payload, authRequired)
  assert.equal((await c.request('verification:request', { purpose: 'login', channel: 'email' })).payload, authRequired)
})

test('bind: a free 3PID or the caller’s own → sent; another account’s → id_exists', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  assertValidReply('verification:request', await juliet.request('verification:request', { purpose: 'bind', thirdPID: 'juliet@capulet.example' }))
  assert.ok(await t.lastCode('juliet@capulet.example', 'bind'))
  assertValidReply('verification:request', await juliet.request('verification:request', { purpose: 'bind', thirdPID: 'juliet@verona.example' }))
  assert.equal((await juliet.request('verification:request', { purpose: 'bind', thirdPID: 'romeo@verona.example' })).payload, err('id_exists'))
})

test('sudo: the caller’s own 3PID by channel or thirdPID; anyone else’s → not_found', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const byChannel = await juliet.request('verification:request', { purpose: 'sudo', channel: 'msisdn' })
  assertValidReply('verification:request', byChannel)
  assert.ok(await t.lastCode('+390458001234', 'sudo'))
  assertValidReply('verification:request', await juliet.request('verification:request', { purpose: 'sudo', thirdPID: 'juliet@verona.example' }))
  assert.equal((await juliet.request('verification:request', { purpose: 'sudo', thirdPID: 'romeo@verona.example' })).payload, err('not_found'))
  assert.equal((await juliet.request('verification:request', { purpose: 'sudo', username: 'romeo', channel: 'email' })).payload, err('not_found'))
  assert.equal((await juliet.request('verification:request', { purpose: 'sudo', thirdPID: 'free@verona.example' })).payload, err('not_found'))
})

test('addressing must be exactly one of thirdPID, username + channel, channel; thirdPID must parse', async ({ t }) => {
  const c = await t.connect()
  for (const payload of [
    { purpose: 'login' },
    { purpose: 'login', username: 'juliet' },
    { purpose: 'login', thirdPID: 'juliet@verona.example', username: 'juliet', channel: 'email' },
    { purpose: 'login', thirdPID: 'juliet@verona.example', channel: 'email' },
    { purpose: 'guess', thirdPID: 'juliet@verona.example' },
  ]) {
    assert.is((await c.request('verification:request', payload)).payload.errID, 'invalid_payload', JSON.stringify(payload))
  }
  assert.equal((await c.request('verification:request', { purpose: 'signup', thirdPID: 'not-an-address' })).payload, {
    errID: 'invalid_payload',
    errText: errors.invalid_payload,
    errPayload: { errors: [{ path: '/payload/thirdPID', message: 'is not a valid email address or phone number' }] },
  })
})

test('a new request for the same destination and purpose replaces the code; other purposes are untouched', async ({ t }) => {
  const c = await t.connect()
  const first = await c.request('verification:request', { purpose: 'reset_password', thirdPID: 'juliet@verona.example' })
  const firstCode = await t.lastCode('juliet@verona.example', 'reset_password')
  const login = await c.request('verification:request', { purpose: 'login', thirdPID: 'juliet@verona.example' })
  const loginCode = await t.lastCode('juliet@verona.example', 'login')
  const second = await c.request('verification:request', { purpose: 'reset_password', thirdPID: 'juliet@verona.example' })
  const secondCode = await t.lastCode('juliet@verona.example', 'reset_password')
  assert.is.not(second.payload.verificationID, first.payload.verificationID)
  assert.equal(
    (await c.request('verification:verify', { verificationID: first.payload.verificationID, code: firstCode })).payload,
    err('invalid_code', { attemptsLeft: 0 }),
  )
  assertValidReply('verification:verify', await c.request('verification:verify', { verificationID: second.payload.verificationID, code: secondCode }))
  assertValidReply('verification:verify', await c.request('verification:verify', { verificationID: login.payload.verificationID, code: loginCode }))
})

test('a new request supersedes only the same requester’s code: B’s bind request leaves A’s bind code alive', async ({ t }) => {
  const { client: juliet } = await login(t, { username: 'juliet', password })
  const { client: romeo } = await login(t, { username: 'romeo', password })
  const mine = await juliet.request('verification:request', { purpose: 'bind', thirdPID: 'balcony@verona.example' })
  const myCode = await t.lastCode('balcony@verona.example', 'bind')
  assert.ok((await romeo.request('verification:request', { purpose: 'bind', thirdPID: 'balcony@verona.example' })).ok)
  const verified = await juliet.request('verification:verify', { verificationID: mine.payload.verificationID, code: myCode })
  assertValidReply('verification:verify', verified)
})

test.run()

// ─── registration closed ───────────────────────────────────────────────────────────────────────
const closed = suite<{ t: CodeServer }>('verification:request (registration closed)')
closed.before(async (ctx) => {
  ctx.t = await startCodeServer({ registration: { mode: 'closed' } })
})
closed.after(async (ctx) => ctx.t.close())

closed('signup → reg_disabled, and nothing is sent', async ({ t }) => {
  const reply = await (await t.connect()).request('verification:request', { purpose: 'signup', thirdPID: 'nurse@verona.example' })
  assert.equal(reply.payload, err('reg_disabled'))
  assert.equal(await t.sent(), [])
})

closed.run()

// ─── per-destination send limits ───────────────────────────────────────────────────────────────
const limits = suite<{ t: CodeServer; clock: ReturnType<typeof manualClock> }>('verification:request (send limits)')
limits.before(async (ctx) => {
  ctx.clock = manualClock()
  // The shipped rules (1 per minute, 10 per day per destination); verification_ip is widened so only they bite.
  ctx.t = await startCodeServer(
    { ratelimit: { enabled: true, rules: { verification_ip: { subject: 'ip', types: ['verification:request'], capacity: 1000, refillPerSecond: 100 } } } },
    { clock: ctx.clock },
  )
})
limits.after(async (ctx) => ctx.t.close())

limits('resendAfter is honoured: one send a minute per requester and destination, five a day', async ({ t, clock }) => {
  const c = await t.connect()
  const ask = () => c.request('verification:request', { purpose: 'signup', thirdPID: 'nurse@verona.example' })
  const first = await ask()
  assertValidReply('verification:request', first)
  assert.is(first.payload.resendAfter, 60)
  const early = await ask()
  assert.is(early.payload.errID, 'ratelimit_exceed')
  assert.ok(early.payload.errPayload.retryAfter > 59_000 && early.payload.errPayload.retryAfter <= 60_000, JSON.stringify(early.payload))
  // Another destination is not affected.
  assert.ok((await c.request('verification:request', { purpose: 'signup', thirdPID: 'friar@verona.example' })).ok)
  clock.advance(60_000)
  for (let i = 2; i <= 5; i++) {
    const reply = await ask()
    assert.ok(reply.ok, `send ${i}`)
    // The fifth send leaves this requester's daily cap binding: resendAfter says hours, not the minute.
    if (i < 5) assert.is(reply.payload.resendAfter, 60, `send ${i}`)
    else assert.ok(reply.payload.resendAfter > 60 * 60, `send 5: resendAfter ${reply.payload.resendAfter}`)
    clock.advance(60_000)
  }
  const sixth = await ask()
  assert.is(sixth.payload.errID, 'ratelimit_exceed')
  assert.ok(sixth.payload.errPayload.retryAfter > 60 * 60_000, 'the daily cap waits hours, not a minute')
  assert.is((await t.sent()).filter((m) => m.to === 'nurse@verona.example').length, 5)
  // Another requester (another address) still gets codes sent there: its own budget, the destination's total.
  const other = await t.connect({ localAddress: '127.0.0.2' })
  assert.ok((await other.request('verification:request', { purpose: 'signup', thirdPID: 'nurse@verona.example' })).ok)
})

limits('a destination gets at most 20 codes a day from all requesters together', async ({ t, clock }) => {
  let sent = 0
  for (let i = 0; i < 5 && sent < 20; i++) {
    const c = await t.connect({ localAddress: `127.0.1.${i + 1}` })
    for (let j = 0; j < 5; j++) {
      clock.advance(60_000)
      const reply = await c.request('verification:request', { purpose: 'signup', thirdPID: 'friar-john@verona.example' })
      if (sent < 20) assert.ok(reply.ok, `send ${sent + 1}: ${JSON.stringify(reply.payload)}`)
      else assert.is(reply.payload.errID, 'ratelimit_exceed')
      if (reply.ok) sent++
    }
  }
  assert.is(sent, 20)
  clock.advance(60_000)
  const fresh = await t.connect({ localAddress: '127.0.1.9' })
  const refused = await fresh.request('verification:request', { purpose: 'signup', thirdPID: 'friar-john@verona.example' })
  assert.is(refused.payload.errID, 'ratelimit_exceed', 'a new requester meets the destination’s daily total')
})

// Audit issue 11 §6: one anonymous login-code request a minute aimed at the victim's address made each of
// the victim's reset requests fail, and after ten the victim waited 8,015,054 ms for any code.
limits('an attacker’s code requests do not lock the owner out of their own codes', async ({ t, clock }) => {
  const c = await t.connect()
  await register(c, { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }] })
  await verifyThirdPIDs(t, 'juliet')
  const attacker = await t.connect({ localAddress: '127.0.0.3' })
  const owner = await t.connect({ localAddress: '127.0.0.4' })
  for (let i = 1; i <= 10; i++) {
    const attack = await attacker.request('verification:request', { purpose: 'login', thirdPID: 'juliet@verona.example' })
    assert.is(attack.ok, i <= 5, `attack ${i}: the attacker's own budget is 5 a day`)
    if (i === 1 || i === 5 || i === 10) {
      const reset = await owner.request('verification:request', { purpose: 'reset_password', thirdPID: 'juliet@verona.example' })
      assert.ok(reset.ok, `the owner's reset request after attack ${i}: ${JSON.stringify(reset.payload)}`)
    }
    clock.advance(60_000)
  }
  const code = await owner.request('verification:request', { purpose: 'login', thirdPID: 'juliet@verona.example' })
  assert.ok(code.ok, `and a login code: ${JSON.stringify(code.payload)}`)
})

limits.run()

// ─── the per-account code lock ─────────────────────────────────────────────────────────────────
const lock = suite<{ t: CodeServer; clock: ReturnType<typeof manualClock> }>('verification:request (code lock)')
lock.before(async (ctx) => {
  ctx.clock = manualClock()
  ctx.t = await startCodeServer({}, { clock: ctx.clock })
  await register(await ctx.t.connect(), { username: 'juliet', password, thirdPIDs: [{ type: 'email', value: 'juliet@verona.example' }] })
  await verifyThirdPIDs(ctx.t, 'juliet')
})
lock.after(async (ctx) => ctx.t.close())

lock('100 consecutive wrong codes against an account: no new codes for a day; a right code resets the count', async ({ t, clock }) => {
  const c = await t.connect()
  const ask = () => c.request('verification:request', { purpose: 'login', thirdPID: 'juliet@verona.example' })
  for (let n = 0; n < 20; n++) {
    const { payload } = await ask()
    assert.ok(payload.verificationID, JSON.stringify(payload))
    const code = await t.lastCode('juliet@verona.example', 'login')
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
    for (let i = 4; i >= 0; i--) {
      assert.equal((await c.request('verification:verify', { verificationID: payload.verificationID, code: wrong })).payload, err('invalid_code', { attemptsLeft: i }))
    }
  }
  const locked = await ask()
  assert.is(locked.payload.errID, 'ratelimit_exceed')
  assert.is(locked.payload.errPayload.retryAfter, 24 * 60 * 60 * 1000)
  assert.is((await c.request('verification:request', { purpose: 'reset_password', thirdPID: 'juliet@verona.example' })).payload.errID, 'ratelimit_exceed')
  // A signup code for another address is not this account's: unaffected.
  assert.ok((await c.request('verification:request', { purpose: 'signup', thirdPID: 'nurse@verona.example' })).ok)

  clock.advance(24 * 60 * 60 * 1000)
  const again = await ask()
  assert.ok(again.ok, JSON.stringify(again.payload))
  const code = await t.lastCode('juliet@verona.example', 'login')
  assert.ok((await c.request('verification:verify', { verificationID: again.payload.verificationID, code })).ok)
  assert.equal(await t.server.store.verifications.codeFailures((await t.server.store.accounts.byUsername('juliet'))!.id), {
    count: 0,
    lastAt: clock.now() - 24 * 60 * 60 * 1000,
  })
})

lock.run()

// ─── secrets at rest ───────────────────────────────────────────────────────────────────────────
const rest = suite<{ t: CodeServer }>('verification (no code or token in the clear)')
rest.before(async (ctx) => {
  // 8-digit codes, so that a chance match of digits elsewhere in the file is out of the question.
  ctx.t = await startCodeServer({ verification: { codeLength: 8 } })
})

rest('the database (file and WAL, or every PostgreSQL table) holds no code and no verificationToken', async ({ t }) => {
  const c = await t.connect()
  const secrets: string[] = []
  for (let i = 0; i < 5; i++) {
    const thirdPID = `person${i}@verona.example`
    const asked = await c.request('verification:request', { purpose: 'signup', thirdPID })
    const code = await t.lastCode(thirdPID, 'signup')
    assert.match(code, /^[0-9]{8}$/)
    secrets.push(code)
    if (i % 2 === 0) {
      const verified = await c.request('verification:verify', { verificationID: asked.payload.verificationID, code })
      secrets.push(verified.payload.verificationToken)
    }
  }
  const files = await storedBytes(t.config)
  assert.ok(files[0]!.length > 0)
  for (const secret of secrets) for (const bytes of files) assert.is(bytes.indexOf(secret), -1, `${secret} found in the database`)
  await t.close()
})

rest.run()
