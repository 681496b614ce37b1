// `hafnium client` as a process against a real server: --json scripting end to end, piped commands, readable failures.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { SignJWT } from 'jose'
import { Readable, Writable } from 'node:stream'
import { client } from '../../src/cli/client.ts'
import { runCli } from '../support/process.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { assertValidReply } from '../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('hafnium client')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
})
test.after(async (ctx) => ctx.t.close())

const lines = (text: string) => text.split('\n').filter((line) => line !== '')

/** Runs `hafnium client` in this process with the given stdin lines and environment; collects its output. */
async function runInProcess(args: string[], input: string[], env: Record<string, string> = {}) {
  let stdout = ''
  let stderr = ''
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk))
        done()
      },
    })
  const io = {
    stdin: Readable.from(input.map((line) => `${line}\n`)),
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    env,
  }
  const code = await client(args, io)
  return { code, stdout, stderr }
}

test('--json: one reply per line, events as lines in wire order, ids kept or filled in, exit 0 at EOF', async ({ t }) => {
  const input = [
    '{"type": "server:ping"}',
    JSON.stringify({ id: 'reg', type: 'profile:register', payload: { username: 'juliet', password, loginOnSuccess: true } }),
    '',
    '{"id": "list", "type": "device:list", "to": "localhost", "payload": {}}',
    'this is not JSON',
    '{"id": 5, "type": "server:ping", "to": "localhost", "payload": {}}',
    '{"id": "out", "type": "profile:logout"}',
  ].join('\n')
  const { code, stdout, stderr } = await runCli(['client', t.url, '--json'], { input }).exited
  assert.is(code, 0, stderr)
  assert.is(stderr, '')
  const frames = lines(stdout).map((line) => JSON.parse(line))
  assert.equal(
    frames.map((f) => [f.id, f.type, f.ok]),
    [
      ['cli1', 'server:ping', true],
      ['reg', 'profile:register', true],
      ['list', 'device:list', true],
      ['', '', false],
      ['', 'server:ping', false],
      [frames[5].id, 'profile:session_revoked', true],
      ['out', 'profile:logout', true],
    ],
  )
  assertValidReply('profile:register', frames[1])
  assertValidReply('device:list', frames[2])
  assert.is(frames[2].to, '@juliet@localhost')
  assert.is(frames[3].payload.errID, 'malformed_message')
  assert.is(frames[4].payload.errID, 'malformed_message')
  assert.match(frames[5].id, /^ev:/)
  assert.equal(frames[5].payload, { deviceID: frames[1].payload.loginPayload.deviceID, reason: 'logout' })
})

test('piped commands (no terminal): replies and events printed in order, nothing after quit', async ({ t }) => {
  const input = ['help', 'login juliet balcony-scene-2 my laptop', 'whoami', 'send device:list {}', 'profile:get', 'send profile:get {"userID": 5}', 'bogus', 'login juliet balcony-scene-2 second', 'send device:list {}', 'logout', 'quit', 'server:ping'].join('\n')
  const run = await runCli(['client', t.url], { input }).exited
  assert.is(run.code, 0, run.stderr)
  // The test runner may set FORCE_COLOR, which the child inherits: colour is tested in-process below.
  const stdout = run.stdout.replace(/\x1b\[[0-9;]*m/g, '')
  assert.match(stdout, /login USER PASS/)
  assert.match(stdout, /✓ profile:login {2}\d+ ms\n {2}\{\n {4}"authToken": "[0-9a-f]{64}"/)
  assert.match(stdout, /"name": "my laptop"/)
  assert.match(stdout, /"userID": "@juliet@localhost"/)
  assert.match(stdout, /✗ profile:get invalid_payload: The payload does not match the schema of this message type/)
  assert.match(stdout, /"path": "\/payload\/userID"/)
  assert.match(stdout, /\nunknown command "bogus" — type help\n/)
  // A second login logs the first device out before it, so no forgotten session stays valid.
  assert.match(stdout, /· logged out @juliet@localhost \(device [A-Z0-9]{10}\) first\n/)
  const lists = [...stdout.matchAll(/✓ device:list[\s\S]*?\n {2}\}\n/g)].map((m) => m[0])
  assert.is(lists.length, 2)
  assert.is((lists[1]!.match(/"deviceID"/g) ?? []).length, 1, 'one device after the second login')
  assert.match(lists[1]!, /"name": "second"/)
  assert.match(stdout, /⚡ profile:session_revoked \(event\)\n {2}\{\n {4}"deviceID": "[A-Z0-9]{10}",\n {4}"reason": "logout"/)
  assert.ok(stdout.indexOf('profile:session_revoked') < stdout.indexOf('✓ profile:logout'), 'the event before the reply')
  assert.not.match(stdout, /✓ server:ping/, 'nothing runs after quit')
})

test('device-login prints a code and waits; approve CODE from another REPL signs it in', async ({ t }) => {
  let stdout = ''
  let sawCode: (code: string) => void
  const code = new Promise<string>((resolve) => (sawCode = resolve))
  const io = {
    stdin: Readable.from(['device-login living-room TV\n', 'whoami\n']),
    stdout: new Writable({
      write(chunk, _encoding, done) {
        stdout += String(chunk)
        const found = /code ([B-Z]{4}-[B-Z]{4})/.exec(stdout)
        if (found) sawCode(found[1]!)
        done()
      },
    }),
    stderr: new Writable({ write: (_c, _e, done) => done() }),
    env: {},
  }
  const tv = client([t.url], io)
  const userCode = await Promise.race([code, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no code printed within 10 s')), 10_000))])
  const phone = await runInProcess([t.url], ['login juliet balcony-scene-2', `approve ${userCode}`])
  assert.is(phone.code, 0, phone.stderr)
  assert.match(phone.stdout, /✓ device:authorize_approve {2}\d+ ms\n {2}\{\n {4}"deviceID": "[A-Z0-9]{10}",\n {4}"deviceName": "living-room TV"/)
  assert.is(await tv, 0)
  assert.match(stdout, /✓ signed in as @juliet@localhost, device [A-Z0-9]{10}/)
  assert.match(stdout, /"authToken": "[0-9a-f]{64}"/, 'whoami after it shows the session')
})

test('--json with a connection the server closes: the error is a line, exit 1', async ({ t }) => {
  // A frame over limits.maxMessageBytes: the server closes with 1009.
  const huge = JSON.stringify({ id: 'big', type: 'server:ping', to: 'localhost', payload: { pad: 'x'.repeat(70_000) } })
  const { code, stdout } = await runInProcess([t.url, '--json'], [huge])
  assert.is(code, 1)
  const [line] = lines(stdout).map((l) => JSON.parse(l))
  assert.match(line.error, /connection closed \(1009/)
  assert.is(line.line, huge)
})

test('no colour on a pipe; FORCE_COLOR colours the output; NO_COLOR wins over it', async ({ t }) => {
  const input = ['send profile:check_username {"username": "juliet"}']
  const piped = await runInProcess([t.url], input)
  assert.match(piped.stdout, /^✓ profile:check_username {2}\d+ ms\n {2}\{\n {4}"available": false\n {2}\}\n$/)
  const forced = await runInProcess([t.url], input, { FORCE_COLOR: '1' })
  assert.match(forced.stdout, '\x1b[32m✓\x1b[39m \x1b[32mprofile:check_username\x1b[39m')
  assert.match(forced.stdout, '\x1b[36m"available"\x1b[39m: \x1b[34mfalse\x1b[39m')
  const plain = await runInProcess([t.url], input, { FORCE_COLOR: '1', NO_COLOR: '1' })
  assert.is(plain.stdout, piped.stdout.replace(/\d+ ms/, plain.stdout.match(/\d+ ms/)![0]))
})

test('a URL that is not ws(s)://: one usage line, exit 2', async () => {
  for (const url of ['localhost:7777', 'http://127.0.0.1:7777/', 'ftp://x/']) {
    const { code, stdout, stderr } = await runInProcess([url], [])
    assert.is(code, 2, url)
    assert.match(stderr, /^hafnium client: ".*" is not a (URL|ws:\/\/ or wss:\/\/ URL).* \(see hafnium client --help\)\n$/)
    assert.is(stdout, '')
  }
})

test('a server that is down, a wrong path: one line on stderr, exit 1', async ({ t }) => {
  const cases: [string, RegExp][] = [
    ['ws://127.0.0.1:1/', /^hafnium client: cannot connect to ws:\/\/127\.0\.0\.1:1\/: connection refused \(is the server running\?\)\n$/],
    [`${t.url}chat`, /^hafnium client: cannot connect to .*: the server answered HTTP 404 instead of a WebSocket upgrade \(wrong path\?\)\n$/],
  ]
  for (const [url, message] of cases) {
    const { code, stdout, stderr } = await runInProcess([url, '--json'], ['{"type": "server:ping"}'])
    assert.is(code, 1, url)
    assert.match(stderr, message)
    assert.is(stdout, '')
  }
  const usage = await runInProcess([], [])
  assert.is(usage.code, 2)
  assert.is(usage.stderr, 'hafnium client: missing URL (see hafnium client --help)\n')
})

test('guest, upgrade and ticket commands sign in without a password', async () => {
  const secret = 'an-hs256-secret-of-at-least-32-bytes!'
  const t = await startTestServer({ registration: { guests: true }, tickets: { issuers: [{ iss: 'app', alg: 'HS256', secret }] } })
  try {
    const now = Math.floor(Date.now() / 1000)
    const ticket = await new SignJWT({ jti: 'repl-1' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('app').setSubject('u1').setAudience('localhost')
      .setIssuedAt(now).setExpirationTime(now + 120).sign(new TextEncoder().encode(secret))
    const { code, stdout } = await runInProcess([t.url], ['guest my kiosk', 'whoami', 'upgrade tybalt prince-of-cats', 'profile:get', `ticket ${ticket} web`, 'upgrade x y z'])
    assert.is(code, 0, stdout)
    const guestID = /✓ profile:guest .*\n[\s\S]*?"guest": true[\s\S]*?"userID": "(@[a-z0-9]{16}@localhost)"/.exec(stdout)?.[1]
    assert.ok(guestID, stdout)
    assert.match(stdout, new RegExp(`✓ profile:upgrade .*\\n {2}\\{\\n {4}"userID": "${guestID}"`))
    assert.match(stdout, /"username": "tybalt"/)
    assert.match(stdout, /✓ profile:login .*\n {2}\{\n {4}"authToken": "[0-9a-f]{64}"/)
    assert.match(stdout, /usage: upgrade USER PASS/)
  } finally {
    await t.close()
  }
})

test('past login_ip the REPL solves the captcha, says so, and shows the reply to the repeated request', async () => {
  const t = await startTestServer({
    captcha: { maxCounter: 2000, expiresSeconds: 300 },
    ratelimit: { enabled: true, rules: { login_ip: { capacity: 2, refillPerSecond: 0.001, captcha: true } } },
  } as never)
  try {
    const { code, stdout } = await runInProcess([t.url], ['register romeo balcony-scene-2', 'login romeo balcony-scene-2', 'login romeo balcony-scene-2', 'login romeo balcony-scene-2', 'login romeo wrong-password'])
    assert.is(code, 0, stdout)
    assert.is(stdout.match(/· solved a captcha in \d+ ms, retrying\n/g)?.length, 2, stdout)
    assert.is(stdout.match(/✓ profile:login /g)?.length, 3, stdout)
    assert.match(stdout, /· solved a captcha in \d+ ms, retrying\n✗ profile:login .*invalid_creds/)
    assert.not.match(stdout, /captcha_required/)
  } finally {
    await t.close()
  }
})

test.run()
