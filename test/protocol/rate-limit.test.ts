// Rate limits over real sockets: ratelimit_exceed with an honest retryAfter, malformed floods, reconnects and restarts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeSolution, solveChallenge } from '../../src/client/index.ts'
import { startTestServer, manualClock } from '../support/server.ts'

const limits = (rules: Record<string, unknown>) => ({ ratelimit: { enabled: true, rules: rules as never } })

test('a per-IP rule refuses with retryAfter, and retrying after it succeeds', async () => {
  const clock = manualClock()
  const t = await startTestServer(limits({ ping_ip: { subject: 'ip', types: ['server:ping'], capacity: 2, refillPerSecond: 0.5 } }), { clock })
  const c = await t.connect()
  assert.is((await c.request('server:ping')).ok, true)
  assert.is((await c.request('server:ping')).ok, true)
  const refused = await c.request('server:ping', {}, { id: 'r' })
  assert.equal(refused, {
    id: 'r',
    type: 'server:ping',
    from: 'localhost',
    ok: false,
    payload: { errID: 'ratelimit_exceed', errText: 'Too many requests; retry later', errPayload: { retryAfter: 2000 } },
  })
  assert.is((await c.request('server:info')).ok, true, 'other types are not charged by this rule')
  clock.advance(1999)
  assert.is((await c.request('server:ping')).ok, false)
  clock.advance(1)
  assert.is((await c.request('server:ping')).ok, true)
  await t.close()
})

test('repeated malformed frames close the connection with 1008', async () => {
  const t = await startTestServer(limits({ malformed: { subject: 'connection', types: ['malformed'], capacity: 3, refillPerSecond: 0.01 } }))
  const c = await t.connect()
  for (let i = 0; i < 3; i++) {
    c.sendRaw('garbage')
    assert.is((await c.nextReply()).payload.errID, 'malformed_message')
  }
  c.sendRaw('garbage')
  assert.is((await c.closed).code, 1008)
  const fresh = await t.connect()
  assert.is((await fresh.request('server:ping')).ok, true, 'a new connection has its own budget')
  await t.close()
})

test('a frame budget ("*") charges every frame, malformed ones included', async () => {
  const clock = manualClock()
  const t = await startTestServer(limits({ messages: { subject: 'connection', types: ['*'], capacity: 3, refillPerSecond: 1 } }), { clock })
  const c = await t.connect()
  c.sendRaw('{}')
  assert.is((await c.nextReply()).payload.errID, 'malformed_message')
  await c.request('server:ping')
  await c.request('unknown:type')
  const refused = await c.request('server:ping')
  assert.is(refused.payload.errID, 'ratelimit_exceed')
  assert.is(refused.payload.errPayload.retryAfter, 1000)
  await t.close()
})

test('IP and account buckets survive reconnects and restarts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-rl-'))
  const clock = manualClock()
  // Told apart by their retryAfter: the account bucket refills in 1,000 s, the IP bucket in 100 s.
  const rules = limits({
    login_ip: { subject: 'ip', types: ['profile:login'], capacity: 8, refillPerSecond: 0.01, captcha: false },
    login_account: { subject: 'account', capacity: 2, refillPerSecond: 0.001 },
  })
  let t = await startTestServer(rules, { clock, dir })
  let c = await t.connect()
  assert.is((await c.request('profile:register', { username: 'mercutio', password: 'queen-mab-dreams-9' })).ok, true)
  const guess = async (username: string) => (await c.request('profile:login', { username, password: 'wrong-guess-1' })).payload
  const restart = async () => {
    await t.close()
    t = await startTestServer(rules, { clock, dir })
    c = await t.connect()
  }
  const accountRefusal = { errID: 'ratelimit_exceed', errText: 'Too many requests; retry later', errPayload: { retryAfter: 1_000_000 } }
  const ipRefusal = { ...accountRefusal, errPayload: { retryAfter: 100_000 } }

  // The account bucket (login_account): 2 guesses, then refused; the IP has spent 3 of its 8.
  for (let i = 0; i < 2; i++) assert.is((await guess('mercutio')).errID, 'invalid_creds')
  assert.equal(await guess('mercutio'), accountRefusal)
  c.close()
  c = await t.connect()
  assert.equal(await guess('mercutio'), accountRefusal, 'reconnecting does not reset the account bucket')
  await restart()
  assert.equal(await guess('mercutio'), accountRefusal, 'restarting does not reset the account bucket')

  // The IP bucket (login_ip): 5 spent so far; 3 more names that find no account (each its own account
  // bucket), then the address is refused whatever it names.
  for (let i = 0; i < 3; i++) assert.is((await guess(`nobody${i}`)).errID, 'invalid_creds')
  assert.equal(await guess('nobody9'), ipRefusal)
  c.close()
  c = await t.connect()
  assert.equal(await guess('nobody9'), ipRefusal, 'reconnecting does not reset the IP bucket')
  await restart()
  assert.equal(await guess('nobody9'), ipRefusal, 'restarting does not reset the IP bucket')
  await t.close()
  rmSync(dir, { recursive: true, force: true })
})

test('login_account is one budget per account, whichever of its names the guesses use', async () => {
  const t = await startTestServer(limits({ login_account: { subject: 'account', capacity: 2, refillPerSecond: 0.01 } }))
  const c = await t.connect()
  const reg = await c.request('profile:register', { username: 'mercutio', password: 'queen-mab-dreams-9', thirdPIDs: [{ type: 'email', value: 'm@verona.example' }] })
  assert.is(reg.ok, true, JSON.stringify(reg.payload))
  assert.is((await c.request('profile:login', { username: 'mercutio', password: 'wrong-guess-1' })).payload.errID, 'invalid_creds')
  assert.is((await c.request('profile:login', { thirdPID: 'm@verona.example', password: 'wrong-guess-2' })).payload.errID, 'invalid_creds')
  assert.is((await c.request('profile:login', { loginID: 'M@Verona.example', password: 'wrong-guess-3' })).payload.errID, 'ratelimit_exceed')
  assert.is((await c.request('profile:login', { username: 'nobody-here', password: 'wrong-guess-4' })).payload.errID, 'invalid_creds', 'other names have their own budget')
  await t.close()
})

test('ratelimit.enabled false turns every rule off', async () => {
  const t = await startTestServer({ ratelimit: { enabled: false, rules: { p: { subject: 'ip', types: ['server:ping'], capacity: 1, refillPerSecond: 0.01 } } } })
  const c = await t.connect()
  for (let i = 0; i < 5; i++) assert.is((await c.request('server:ping')).ok, true)
  await t.close()
})

test('debug names the rule behind each decision: refused (router or handler rule), captcha required, admitted with a captcha, captcha invalid', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-ratelimit-log-'))
  const logFile = join(dir, 'server.log')
  const t = await startTestServer(
    {
      log: { level: 'debug' },
      captcha: { maxCounter: 2000, expiresSeconds: 300 },
      ...limits({ login_ip: { subject: 'ip', types: ['profile:login'], capacity: 2, refillPerSecond: 0.001, captcha: true }, login_account: { subject: 'account', capacity: 1, refillPerSecond: 0.001 } }),
    } as never,
    { clock: manualClock(), logFile },
  )
  try {
    const c = await t.connect()
    const password = 'secret-guess-1'
    assert.is((await c.request('profile:login', { username: 'juliet', password })).payload.errID, 'invalid_creds')
    assert.is((await c.request('profile:login', { username: 'juliet', password })).payload.errID, 'ratelimit_exceed')
    const required = await c.request('profile:login', { username: 'romeo', password })
    assert.is(required.payload.errID, 'captcha_required')
    const challenge = required.payload.errPayload.challenge
    const captcha = encodeSolution(challenge, await solveChallenge(challenge, { timeoutMs: 30_000 }))
    assert.is((await c.request('profile:login', { username: 'romeo', password, captcha })).payload.errID, 'invalid_creds')
    assert.is((await c.request('profile:login', { username: 'romeo', password, captcha: 'bm90IGpzb24=' })).payload.errID, 'captcha_invalid')
    assert.is((await c.request('profile:login', { username: 'romeo', password, captcha: 'bm90IGpzb24=' })).payload.errID, 'ratelimit_exceed')
    await t.close()

    const text = readFileSync(logFile, 'utf8')
    const lines = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
    const decisions = lines.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('rate limit:'))
    assert.equal(
      decisions.map((l) => [l.msg, l.rules, l.type, l.level]),
      [
        ['rate limit: refused', ['login_account'], 'profile:login', 20],
        ['rate limit: captcha required', ['login_ip'], 'profile:login', 20],
        ['rate limit: admitted with a captcha', ['login_ip:captcha'], 'profile:login', 20],
        ['rate limit: captcha invalid', ['login_ip:captcha'], 'profile:login', 20],
        ['rate limit: refused', ['login_ip:captcha'], 'profile:login', 20],
      ],
    )
    for (const line of decisions) assert.type(line.requestID, 'string')
    assert.not.ok(text.includes(password), 'no payload in the log')
    assert.not.ok(text.includes(captcha), 'no captcha solution in the log')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
