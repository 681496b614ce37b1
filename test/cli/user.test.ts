// `hafnium user` run as a real process on the database file of a running server: add, list, disable, enable, passwd.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const entry = join(root, 'src/cli/entry.ts')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

const test = suite<{ t: TestServer; dir: string; run(args: string[], stdin?: string, env?: Record<string, string>): Promise<Run> }>('hafnium user')

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-cli-'))
  const configFile = join(ctx.dir, 'config.json')
  // The server holds the database lock the whole time: the CLI must work beside it.
  ctx.t = await startTestServer({}, { dir: ctx.dir })
  // warn: the admin audit lines (info) are tested on their own below; elsewhere stderr is for errors.
  // Under HAFNIUM_TEST_ENGINE=postgres the CLI gets the server's database.url, as an operator's config would.
  const database = ctx.t.config.database.url ? { database: { url: ctx.t.config.database.url } } : {}
  writeFileSync(configFile, JSON.stringify({ ...database, password: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } }, log: { level: 'warn' } }))
  const db = join(ctx.dir, 'hafnium.db')
  ctx.run = (args, stdin = '', env = {}) => hafnium(['user', ...args, '--config', configFile, '--db', db], stdin, env)
})
test.after(async (ctx) => {
  await ctx.t.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

/** The CLI from source, as `npx hafnium` would run it; stdin is written and closed. */
function hafnium(args: string[], stdin: string, env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, stdio: 'pipe', env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdin.on('error', () => {}) // a command that never reads stdin may exit before the write lands
  child.stdin.end(stdin)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function login(t: TestServer, username: string, password: string) {
  const c = await t.connect()
  return c.request('profile:login', { username, password })
}

test('add with --password-stdin prints the user ID and the running server lets the account log in', async ({ t, run }) => {
  const added = await run(['add', 'Juliet', '--email', 'Juliet@Verona.example', '--phone', '+1 234 567 8900', '--password-stdin'], 'romeo-montague\nignored second line\n')
  assert.equal(added, { code: 0, stdout: '@juliet@localhost\n', stderr: '' })
  const account = await t.server.store.accounts.byUsername('juliet')
  assert.equal(account?.status, 'active')
  assert.equal(account?.thirdPIDs.map(({ type, value }) => ({ type, value })), [
    { type: 'email', value: 'juliet@verona.example' },
    { type: 'msisdn', value: '+12345678900' },
  ])
  assert.ok(account?.passwordHash?.startsWith('$argon2id$'))
  const reply = await login(t, 'juliet', 'romeo-montague')
  assert.is(reply.ok, true, JSON.stringify(reply))
  assert.is(reply.payload.userID, '@juliet@localhost')
})

test('add without a password: the account exists but has no password (password_not_set)', async ({ t, run }) => {
  assert.equal(await run(['add', 'nurse']), { code: 0, stdout: '@nurse@localhost\n', stderr: '' })
  const reply = await login(t, 'nurse', 'anything-at-all')
  assert.is(reply.payload.errID, 'password_not_set')
})

test('add refuses weak passwords with the policy of profile:register, and creates nothing', async ({ t, run }) => {
  const cases: Array<[string, RegExp]> = [
    ['short', /weak password \(too_short\): shorter than 8 characters/],
    ['password', /weak password \(common\)/],
    ['xx-tybalt-xx', /weak password \(context\)/],
    ['capulet-house', /weak password \(context\)/], // the email's local part
  ]
  for (const [password, message] of cases) {
    const result = await run(['add', 'tybalt', '--email', 'capulet@verona.example', '--password-stdin'], `${password}\n`)
    assert.is(result.code, 1, password)
    assert.match(result.stderr, message)
    assert.is(result.stdout, '')
  }
  assert.is(await t.server.store.accounts.byUsername('tybalt'), undefined)
  const empty = await run(['add', 'tybalt', '--password-stdin'], '')
  assert.equal(empty, { code: 1, stdout: '', stderr: 'hafnium user: no password on stdin\n' })
})

test('add refuses a taken username (any case) or 3PID, and bad arguments', async ({ t, run }) => {
  const taken = { code: 1, stdout: '', stderr: 'hafnium user: username or 3PID already taken\n' }
  assert.equal(await run(['add', 'JULIET']), taken)
  assert.equal(await run(['add', 'juliet2', '--email', 'JULIET@verona.example']), taken)
  assert.is(await t.server.store.accounts.byUsername('juliet2'), undefined)

  const badName = await run(['add', 'jul iet'])
  assert.is(badName.code, 2)
  assert.match(badName.stderr, /^hafnium user: "jul iet" is not a valid username/)
  assert.is((await run(['add', 'benvolio', '--email', 'not-an-email'])).code, 2)
  assert.is((await run(['add', 'benvolio', '--phone', '12345'])).code, 2)
  // A password never travels on argv (ps shows it): there is no such option.
  const onArgv = await run(['add', 'benvolio', '--password', 'hunter2-hunter2'])
  assert.is(onArgv.code, 2)
  assert.not.match(onArgv.stderr, /hunter2/)
  assert.is(await t.server.store.accounts.byUsername('benvolio'), undefined)
  assert.is((await run([])).code, 2)
  assert.is((await run(['frobnicate'])).code, 2)
})

test('list prints one line per account; --json an array with device counts and each device\'s last seen time and expiry', async ({ run }) => {
  const listed = await run(['list'])
  assert.is(listed.code, 0, listed.stderr)
  const lines = listed.stdout.trimEnd().split('\n')
  const juliet = lines.find((line) => line.startsWith('@juliet@localhost\t'))
  assert.ok(juliet, listed.stdout)
  assert.match(juliet!, /^@juliet@localhost\tactive\tjuliet@verona\.example,\+12345678900\t1 device\t\d{4}-\d\d-\d\dT[\d:.]+Z$/)
  assert.ok(lines.some((line) => /^@nurse@localhost\tactive\t-\t0 devices\t/.test(line)), listed.stdout)

  const json = await run(['list', '--json'])
  assert.is(json.code, 0)
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>
  const row = rows.find((r) => r.userID === '@juliet@localhost')
  assert.equal(row, {
    userID: '@juliet@localhost',
    username: 'juliet',
    status: 'active',
    thirdPIDs: [
      { type: 'email', value: 'juliet@verona.example', verified: true },
      { type: 'msisdn', value: '+12345678900', verified: true },
    ],
    devices: 1,
    createdAt: row?.createdAt,
    deviceList: row?.deviceList,
  })
  assert.is(new Date(row!.createdAt as string).toISOString(), row!.createdAt)
  // Each device with its last seen time and expiry (sessions.idleTimeout, 90 days as shipped).
  const [device] = row!.deviceList as Array<Record<string, string>>
  assert.equal(Object.keys(device!), ['deviceID', 'name', 'createdAt', 'lastSeenAt', 'expiresAt'])
  assert.is(Date.parse(device!.expiresAt!) - Date.parse(device!.lastSeenAt!), 7_776_000_000)
  assert.not.match(json.stdout, /argon2/)
})

test('disable: the server answers user_disabled and the old tokens are dead; enable lets the account back in', async ({ t, run }) => {
  const before = await login(t, 'juliet', 'romeo-montague')
  const disabled = await run(['disable', 'juliet@VERONA.example'])
  assert.equal(disabled, { code: 0, stdout: '@juliet@localhost disabled; 2 device(s) deleted\n', stderr: '' })
  const account = (await t.server.store.accounts.byUsername('juliet'))!
  assert.is(account.status, 'disabled')
  assert.equal(await t.server.store.devices.list(account.id), [])
  assert.is((await login(t, 'juliet', 'romeo-montague')).payload.errID, 'user_disabled')
  const c = await t.connect()
  assert.is((await c.request('profile:auth', { authToken: before.payload.authToken })).payload.errID, 'invalid_token')

  assert.equal(await run(['enable', '@juliet@localhost']), { code: 0, stdout: '@juliet@localhost enabled\n', stderr: '' })
  assert.is((await login(t, 'juliet', 'romeo-montague')).ok, true)
  // Enabling gives no device back.
  assert.is((await c.request('profile:auth', { authToken: before.payload.authToken })).payload.errID, 'invalid_token')
})

test('passwd: the old password and every token stop working, the new password works', async ({ t, run }) => {
  const old = await login(t, 'juliet', 'romeo-montague')
  assert.is(old.ok, true)
  const changed = await run(['passwd', 'juliet', '--password-stdin'], 'wherefore-art-thou\n')
  assert.equal(changed, { code: 0, stdout: '@juliet@localhost: password changed; 2 device(s) deleted\n', stderr: '' })
  assert.is((await login(t, 'juliet', 'romeo-montague')).payload.errID, 'invalid_creds')
  const fresh = await login(t, 'juliet', 'wherefore-art-thou')
  assert.is(fresh.ok, true, JSON.stringify(fresh))
  const c = await t.connect()
  assert.is((await c.request('profile:auth', { authToken: old.payload.authToken })).payload.errID, 'invalid_token')
  assert.is((await c.request('profile:auth', { authToken: fresh.payload.authToken })).ok, true)
})

test('passwd sets a first password, applies the policy, and needs --password-stdin and a known account', async ({ t, run }) => {
  assert.equal(await run(['passwd', 'nurse', '--password-stdin'], 'nurse\n'), {
    code: 1,
    stdout: '',
    stderr: 'hafnium user: weak password (too_short): shorter than 8 characters\n',
  })
  assert.is((await run(['passwd', 'nurse', '--password-stdin'], 'the-nurse-knows\n')).code, 1) // contains the username
  assert.is((await run(['passwd', 'nurse'], 'angelica-of-verona\n')).code, 2)
  assert.is((await login(t, 'nurse', 'angelica-of-verona')).payload.errID, 'password_not_set')
  assert.is((await run(['passwd', 'nurse', '--password-stdin'], 'angelica-of-verona\r\n')).code, 0)
  assert.is((await login(t, 'nurse', 'angelica-of-verona')).ok, true)

  const unknown = { code: 1, stdout: '', stderr: 'hafnium user: no account "nobody"\n' }
  assert.equal(await run(['passwd', 'nobody', '--password-stdin'], 'angelica-of-verona\n'), unknown)
  assert.equal(await run(['disable', 'nobody']), unknown)
  assert.equal(await run(['enable', '@nobody@localhost']), { ...unknown, stderr: 'hafnium user: no account "@nobody@localhost"\n' })
})

test('show: the account, its contacts, and each device with last seen time and address', async ({ t, run }) => {
  assert.is((await run(['add', 'romeo', '--email', 'romeo@verona.example', '--password-stdin'], 'wherefore-art-thou\n')).code, 0)
  await login(t, 'romeo', 'wherefore-art-thou')
  await login(t, 'romeo', 'wherefore-art-thou')
  const shown = await run(['show', 'romeo', '--json'])
  assert.is(shown.code, 0, shown.stderr)
  const view = JSON.parse(shown.stdout)
  assert.equal([view.userID, view.status, view.thirdPIDs.map((p: { value: string }) => p.value)], ['@romeo@localhost', 'active', ['romeo@verona.example']])
  assert.is(view.devices.length, 2)
  for (const device of view.devices) {
    assert.is(device.lastIP, '127.0.0.1')
    assert.match(device.lastSeenAt, /^\d{4}-\d\d-\d\dT/)
    assert.match(device.deviceID, /^[A-Z0-9]{10}$/)
  }
  const text = await run(['show', 'romeo@verona.example'])
  assert.match(text.stdout, /^@romeo@localhost {2}active {2}created \S+\ncontacts: romeo@verona\.example\ndevices: 2\n/, 'addresses the admin gives are stored verified')
  assert.match(text.stdout, / last seen \S+ from 127\.0\.0\.1 /)
  assert.equal(await run(['show', 'nobody']), { code: 1, stdout: '', stderr: 'hafnium user: no account "nobody"\n' })
})

test('delete erases personal data and devices and keeps the username reserved; --release-username frees it', async ({ t, run }) => {
  const before = await login(t, 'romeo', 'wherefore-art-thou')
  assert.equal(await run(['delete', 'romeo']), { code: 0, stdout: '@romeo@localhost deleted; 3 device(s) deleted; its username stays reserved\n', stderr: '' })
  const tomb = (await t.server.store.accounts.byUsername('romeo'))!
  assert.equal([tomb.status, tomb.thirdPIDs, tomb.passwordHash], ['disabled', [], null])
  assert.equal(await t.server.store.devices.list(tomb.id), [])
  const c = await t.connect()
  assert.is((await c.request('profile:auth', { authToken: before.payload.authToken })).payload.errID, 'invalid_token')
  assert.is((await c.request('profile:login', { username: 'romeo', password: 'wherefore-art-thou' })).ok, false)
  // The name is still taken; the email address is free for someone else.
  assert.equal(await run(['add', 'romeo'], ''), { code: 1, stdout: '', stderr: 'hafnium user: username or 3PID already taken\n' })
  assert.is((await run(['add', 'mercutio', '--email', 'romeo@verona.example'])).code, 0)

  assert.equal(await run(['delete', '@romeo@localhost', '--release-username']), {
    code: 0,
    stdout: '@romeo@localhost deleted; 0 device(s) deleted; its username is free again\n',
    stderr: '',
  })
  assert.is(await t.server.store.accounts.byUsername('romeo'), undefined)
  assert.equal(await run(['add', 'romeo']), { code: 0, stdout: '@romeo@localhost\n', stderr: '' })
})

test('admin actions are audit lines on stderr at info (LOG_LEVEL=info), naming the account; a bad LOG_LEVEL is one line', async ({ run }) => {
  const added = await run(['add', 'tybalt'], '', { LOG_LEVEL: 'info' })
  assert.is(added.code, 0, added.stderr)
  const [line, ...more] = added.stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  assert.equal(more, [])
  assert.equal([line.level, line.event, line.userID, line.by, line.withPassword], [30, 'admin.user.added', '@tybalt@localhost', 'admin-cli', false])
  const deleted = await run(['delete', 'tybalt', '--release-username'], '', { LOG_LEVEL: 'info' })
  assert.match(deleted.stderr, /"event":"admin\.user\.deleted".*"userID":"@tybalt@localhost"/)
  assert.equal(await run(['list'], '', { LOG_LEVEL: 'verbose' }), {
    code: 1,
    stdout: '',
    stderr: 'hafnium user: LOG_LEVEL is "verbose", which is not a log level (one of trace, debug, info, warn, error, fatal, silent)\n',
  })
})

test.run()
