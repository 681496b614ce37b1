// The audit trail: from the log alone an operator can tell who logged in from where, who failed, and who revoked what.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { auditEvents } from '../../src/audit.ts'
import { login, register, requestOk, sudo } from '../support/accounts.ts'
import { manualClock, startTestServer } from '../support/server.ts'
import { grantFor, startTestProvider } from '../support/oidc-provider.ts'
import { within } from '../support/within.ts'

const password = 'balcony-scene-2'
type Line = Record<string, unknown> & { level: number; msg: string }

test('register, log in, fail, revoke from another device: every step is an info line with a stable event, no secret', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-audit-'))
  const logFile = join(dir, 'server.log')
  // debug: the pipeline's decisions are in the file too, and must not carry payloads either.
  // A deadline the test picks: every anonymous socket here (registering, logging in, failing) must be done
  // before it, and the idle one is closed by it. At 300 ms the failing socket's span (connect, two logins,
  // the other device's sudo and revoke, its profile:auth) took up to 268 ms with two CPU hogs beside it.
  const authTimeoutMs = 2000
  const t = await startTestServer({ log: { level: 'debug' }, server: { authTimeoutMs } }, { logFile })
  try {
    // Opened first, so its deadline runs out while the steps below run: an anonymous socket left idle is
    // closed, routine, so a debug line.
    const idle = await t.connect()
    const first = await t.connect()
    const registered = (await register(first, { username: 'juliet', password, loginOnSuccess: true, deviceName: 'laptop' })).payload
    const phone = await login(t, { username: 'juliet', password, deviceName: 'phone' })
    const wrong = await t.connect()
    assert.is((await wrong.request('profile:login', { username: 'juliet', password: 'not-the-password' })).payload.errID, 'invalid_creds')
    const refused = await wrong.request('profile:login', { username: 'juliet', password, secretField: 'hunter2-in-payload' })
    assert.is(refused.payload.errID, 'invalid_payload')
    // The phone revokes the laptop.
    const laptopDevice = registered.loginPayload.deviceID as string
    await requestOk(phone.client, 'device:revoke', { deviceID: laptopDevice, sudoToken: await sudo(phone.client, password) })
    assert.is((await wrong.request('profile:auth', { authToken: registered.loginPayload.authToken })).payload.errID, 'invalid_token')
    await within(idle.closed, 15_000, `the idle anonymous socket to be closed after ${authTimeoutMs} ms`)

    await t.close()
    const text = readFileSync(logFile, 'utf8')
    const lines = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line)
    const events = lines.filter((l) => typeof l.event === 'string')
    for (const line of events) {
      assert.is(line.level, 30, `${line.event} at info`)
      assert.ok((auditEvents as readonly string[]).includes(line.event as string), `${line.event} is a documented event`)
    }
    const pick = (event: string) => events.filter((l) => l.event === event)

    assert.equal(pick('account.registered').map((l) => [l.userID, l.ip]), [['@juliet@localhost', '127.0.0.1']])
    // Who logged in from where.
    assert.equal(
      pick('login.succeeded').map((l) => [l.userID, l.deviceID, l.deviceName, l.via, l.ip]),
      [
        ['@juliet@localhost', laptopDevice, 'laptop', 'profile:register', '127.0.0.1'],
        ['@juliet@localhost', phone.deviceID, 'phone', 'profile:login', '127.0.0.1'],
      ],
    )
    assert.equal(
      pick('login.failed').map((l) => [l.reason, l.loginID ?? null, l.via, l.ip]),
      [
        ['invalid_creds', 'juliet', 'password', '127.0.0.1'],
        ['invalid_token', null, 'auth_token', '127.0.0.1'],
      ],
    )
    // Who revoked what.
    const [revoked, ...more] = pick('device.revoked')
    assert.equal(more, [])
    assert.equal([revoked!.userID, revoked!.by, revoked!.deviceIDs, revoked!.reason, revoked!.via, revoked!.ip], [
      '@juliet@localhost',
      phone.deviceID,
      [laptopDevice],
      'revoked',
      'device:revoke',
      '127.0.0.1',
    ])

    const schemaRefusal = lines.find((l) => l.msg === 'payload refused by its schema')
    assert.ok(schemaRefusal && schemaRefusal.level === 20, 'schema failures are debug lines')
    assert.ok(lines.some((l) => l.msg === 'not authenticated in time; closing' && l.level === 20), 'the idle close is debug')
    assert.not.ok(lines.some((l) => l.level >= 30 && /not authenticated in time/.test(l.msg)), 'and not info')
    for (const secret of [password, 'not-the-password', 'hunter2-in-payload', registered.loginPayload.authToken, phone.authToken]) {
      assert.not.ok(text.includes(secret), `the log holds no secret or payload (${secret.slice(0, 6)}…)`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** The audit lines of a server run with logFile, parsed. */
function auditLines(logFile: string): Line[] {
  return readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line).filter((l) => typeof l.event === 'string')
}

test('devices deleted by a password change, a deactivation or expiry are device.revoked lines with their reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-audit-'))
  const logFile = join(dir, 'server.log')
  const clock = manualClock()
  // maxAge 1 h and no sweep within the test: the expired device is found at its next profile:auth.
  const t = await startTestServer({ log: { level: 'info' }, sessions: { maxAge: 3600, sweepIntervalMs: 3_600_000 } }, { logFile, clock })
  try {
    await register(await t.connect(), { username: 'juliet', password })
    const laptop = await login(t, { username: 'juliet', password, deviceName: 'laptop' })
    const phone = await login(t, { username: 'juliet', password, deviceName: 'phone' })
    const tablet = await login(t, { username: 'juliet', password, deviceName: 'tablet' })
    // The laptop changes the password: every other device goes.
    await requestOk(laptop.client, 'profile:set_password', { oldPassword: password, newPassword: 'nurse-and-friar-3' })
    const watch = await login(t, { username: 'juliet', password: 'nurse-and-friar-3', deviceName: 'watch' })
    clock.advance(2 * 3_600_000)
    const late = await t.connect()
    assert.is((await late.request('profile:auth', { authToken: watch.authToken })).payload.errID, 'invalid_token')
    const desk = await login(t, { username: 'juliet', password: 'nurse-and-friar-3', deviceName: 'desk' })
    // The desk deactivates the account: every device, its own included.
    await requestOk(desk.client, 'profile:deactivate', { sudoToken: await sudo(desk.client, 'nurse-and-friar-3') })
    await t.close()

    const revoked = auditLines(logFile).filter((l) => l.event === 'device.revoked')
    const sorted = (ids: unknown) => [...(ids as string[])].sort()
    assert.equal(
      revoked.map((l) => [l.reason, sorted(l.deviceIDs), l.userID ?? null, l.by ?? null, l.via, l.ip]),
      [
        ['password_changed', sorted([phone.deviceID, tablet.deviceID]), '@juliet@localhost', laptop.deviceID, 'profile:set_password', '127.0.0.1'],
        ['expired', [watch.deviceID], null, null, 'profile:auth', '127.0.0.1'],
        // The laptop was the only device left besides the desk.
        ['deactivated', sorted([laptop.deviceID, desk.deviceID]), '@juliet@localhost', desk.deviceID, 'profile:deactivate', '127.0.0.1'],
      ],
    )
    for (const line of revoked) assert.is(line.level, 30)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the sweep that ends idle devices writes device.revoked per account, by "sweep"', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-audit-'))
  const logFile = join(dir, 'server.log')
  const clock = manualClock()
  const t = await startTestServer({ log: { level: 'info' }, sessions: { idleTimeout: 3600, sweepIntervalMs: 100 }, ratelimit: { flushIntervalMs: 60_000 } }, { logFile, clock })
  try {
    await register(await t.connect(), { username: 'juliet', password })
    const idle = await login(t, { username: 'juliet', password, deviceName: 'idle' })
    clock.advance(2 * 3_600_000)
    const event = await idle.client.nextEvent('profile:session_revoked', { timeoutMs: 10_000 })
    assert.equal(event.payload, { deviceID: idle.deviceID, reason: 'expired' })
    await t.close()
    const revoked = auditLines(logFile).filter((l) => l.event === 'device.revoked')
    assert.equal(revoked.map((l) => [l.reason, l.deviceIDs, l.by]), [['expired', [idle.deviceID], 'sweep']])
    assert.type(revoked[0]!.accountID, 'string')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('identity providers: provider.linked and provider.unlinked lines, failed logins say which credential, no state, code or providerToken in the log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-audit-'))
  const logFile = join(dir, 'server.log')
  const op = await startTestProvider()
  const t = await startTestServer({ log: { level: 'trace' }, providers: { local: op.config() } }, { logFile })
  try {
    op.accounts.set('romeo-1', {})
    const client = await t.connect()
    await register(client, { username: 'romeo', password, loginOnSuccess: true })
    const { reply, code, state } = await grantFor(client, op, 'romeo-1', { providerID: 'local' })
    const providerToken = reply.payload.providerToken as string
    await requestOk(client, 'profile:bind_provider', { providerToken, sudoToken: await sudo(client, password) })
    await requestOk(client, 'profile:unbind_provider', { providerID: 'local', sudoToken: await sudo(client, password) })
    const stranger = await t.connect()
    assert.is((await stranger.request('profile:login', { providerToken })).payload.errID, 'invalid_token')
    assert.is((await stranger.request('profile:login', { ticket: 'a.b.c' })).payload.errID, 'invalid_token')

    await t.close()
    const text = readFileSync(logFile, 'utf8')
    const events = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line).filter((l) => typeof l.event === 'string')
    const pick = (event: string) => events.filter((l) => l.event === event)
    assert.equal(pick('provider.linked').map((l) => [l.userID, l.providerID, l.sub, l.ip]), [['@romeo@localhost', 'local', 'romeo-1', '127.0.0.1']])
    assert.equal(pick('provider.unlinked').map((l) => [l.userID, l.providerID]), [['@romeo@localhost', 'local']])
    assert.equal(pick('login.failed').map((l) => [l.reason, l.via]), [['invalid_token', 'provider_token'], ['invalid_token', 'ticket']])
    for (const secret of [providerToken, code, state]) assert.not.ok(text.includes(secret), `the log holds no provider secret (${secret.slice(0, 6)}…)`)
  } finally {
    await t.close().catch(() => {})
    await op.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
