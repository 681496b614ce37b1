// The conformance suite in-process: it passes against this server (with codes, and under tight rate limits that
// make it wait), skips what it is told to, and fails the right checks against a broken server.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runConformance, type ConformanceReport } from '../../src/conformance/index.ts'
import { startCodeServer } from '../support/codes.ts'
import { startTestServer } from '../support/server.ts'
import { startBrokenServer } from './broken.ts'
import { startTestProvider } from '../support/oidc-provider.ts'

const test = suite('conformance (in-process)')

const failures = (report: ConformanceReport) => report.results.filter((r) => r.status === 'fail').map((r) => `${r.name}: ${r.reason}`)

const ticketSecret = 'an-hs256-secret-of-at-least-32-bytes!'

test('passes against this server, codes, guests, tickets and identity providers included (outbox file, a ticket issuer, an OpenID Provider)', async () => {
  const op = await startTestProvider()
  const t = await startCodeServer({
    registration: { guests: true },
    tickets: { issuers: [{ iss: 'cf-app', alg: 'HS256', secret: ticketSecret }] },
    providers: { local: op.config() },
  })
  try {
    const seen: string[] = []
    const ticketIssuer = { iss: 'cf-app', alg: 'HS256' as const, key: ticketSecret }
    const report = await runConformance({ url: t.url, outboxFile: t.outboxFile, ticketIssuer, onResult: (r) => void seen.push(r.name) })
    assert.equal(failures(report), [])
    // Rate limiting is off here, so there is no captcha step: its group says so (a later test runs it).
    const skipped = report.results.filter((r) => r.status === 'skip')
    assert.ok(skipped.every((r) => r.group === 'captcha' && /features\.captcha does not list profile:login/.test(r.reason!)), JSON.stringify(skipped))
    assert.is(report.passed + skipped.length, report.results.length)
    assert.equal(seen, report.results.map((r) => r.name), 'onResult saw each result as it came')
    assert.is(new Set(seen).size, seen.length, 'check names are unique')
    for (const name of ['envelope.malformed.not_json', 'login.invalid_creds', 'device.revoke', 'set_password.ok', 'logout.ok', 'profile.public_view', 'codes.passwordless_login', 'codes.reset_password', 'guest.ok', 'guest.upgrade', 'ticket.invalid', 'ticket.ok', 'ticket.replay', 'deactivate.user_disabled', 'device_authorization.approve', 'device_authorization.used_code', 'device_authorization.poll_pending', 'provider.unknown', 'provider.auth_url', 'provider.grant_unknown_state', 'provider.login_unknown_token', 'provider.unbind_not_linked']) {
      assert.ok(seen.includes(name), `ran ${name}`)
    }
    assert.equal([report.domain, report.server], ['localhost', { version: report.server!.version, registration: 'open' }])
  } finally {
    await t.close()
    await op.close()
  }
})

test('under tight rate limits it waits retryAfter and still passes; without --outbox codes are skipped; --skip drops a group', async () => {
  const rules = { register_ip: { capacity: 1, refillPerSecond: 5 }, login_account: { capacity: 2, refillPerSecond: 10 } }
  const t = await startTestServer({ ratelimit: { enabled: true, rules } })
  try {
    const report = await runConformance({ url: t.url, skip: ['admin'] })
    assert.equal(failures(report), [])
    const skipped = report.results.filter((r) => r.status === 'skip')
    const offHere = (r: (typeof skipped)[number]) =>
      (r.group === 'codes' && /needs --outbox/.test(r.reason!)) || (r.group === 'signin' && /are off on this server \(server:info features\.(guests|tickets)\)/.test(r.reason!)) ||
      (r.group === 'providers' && /no identity provider is configured/.test(r.reason!))
    assert.ok(skipped.length > 0 && skipped.every(offHere), JSON.stringify(skipped))
    assert.is(report.results.find((r) => r.name === 'guest.reg_disabled')?.status, 'pass', 'guests off: profile:guest answers reg_disabled')
    assert.not.ok(report.results.some((r) => r.group === 'admin'), 'the admin group did not run')
    const metrics = await t.server.metrics.registry.metrics()
    const rejections = [...metrics.matchAll(/^hafnium_ratelimit_rejections_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
    assert.ok(rejections >= 2, `the suite was rate limited (${rejections} times) and waited`)
  } finally {
    await t.close()
  }
})

test('captcha on (server:info features.captcha): captcha_required after the login budget, a solution admitted once, reused and tampered ones refused', async () => {
  const t = await startTestServer({
    captcha: { maxCounter: 2000, expiresSeconds: 300 },
    ratelimit: { enabled: true, rules: { login_ip: { capacity: 5, refillPerSecond: 0.01, captcha: true } } },
  } as never)
  try {
    const report = await runConformance({ url: t.url, skip: ['envelope', 'accounts', 'devices', 'device-authorization', 'profile', 'codes', 'signin', 'admin'] })
    assert.equal(failures(report), [])
    assert.equal(report.results.filter((r) => r.group === 'captcha').map((r) => [r.name, r.status]), [
      ['captcha.required', 'pass'],
      ['captcha.solved', 'pass'],
      ['captcha.reused', 'pass'],
      ['captcha.invalid', 'pass'],
    ])
  } finally {
    await t.close()
  }
})

test('device authorization off: its checks are skipped, each saying why', async () => {
  const t = await startTestServer({ deviceAuthorization: { enabled: false } })
  try {
    const report = await runConformance({ url: t.url, skip: ['admin', 'codes', 'profile', 'envelope'] })
    assert.equal(failures(report), [])
    const group = report.results.filter((r) => r.group === 'device-authorization')
    assert.equal(group.map((r) => [r.name, r.status]), [
      ['device_authorization.approve', 'skip'],
      ['device_authorization.used_code', 'skip'],
      ['device_authorization.poll_pending', 'skip'],
    ])
    assert.match(group[0]!.reason!, /device authorization off/)
  } finally {
    await t.close()
  }
})

test('against a broken server the checks that catch its bugs fail, and the rest still run', async () => {
  const stub = await startBrokenServer()
  try {
    const report = await runConformance({ url: stub.url, domain: 'localhost', timeoutMs: 300 })
    const status = Object.fromEntries(report.results.map((r) => [r.name, r.status]))
    assert.equal(
      [status['server.ping'], status['server.info'], status['register.ok'], status['login.ok']],
      ['pass', 'pass', 'pass', 'pass'],
      'what the stub does right passes',
    )
    const reasons = Object.fromEntries(report.results.filter((r) => r.status === 'fail').map((r) => [r.name, r.reason]))
    assert.is(reasons['envelope.malformed.not_json'], 'expected malformed_message, got bad_request')
    assert.is(reasons['envelope.unhandled'], 'expected unhandled, got bad_request')
    assert.match(reasons['login.invalid_creds']!, /^expected invalid_creds, got ok: true with \{"authToken":/)
    assert.match(reasons['register.id_exists']!, /^expected id_exists, got ok: true/)
    assert.is(reasons['device.new_login'], 'no device:new_login event on the account’s other connection')
    assert.ok(report.failed > 10)
    assert.is(status['logout.ok'], 'skip', 'a check whose prerequisite failed is skipped')
  } finally {
    await stub.close()
  }
})

test('an unknown group is refused; an unreachable server rejects with a connection error', async () => {
  const unknown = (await runConformance({ url: 'ws://127.0.0.1:1/', skip: ['codez'] }).catch((e: unknown) => e)) as Error
  assert.match(unknown.message, 'unknown group codez (groups: server, envelope, accounts, devices, device-authorization, profile, codes, signin, providers, admin, captcha)')
  const down = (await runConformance({ url: 'ws://127.0.0.1:1/' }).catch((e: unknown) => e)) as Error
  assert.match(down.message, 'connection refused (is the server running?)')
})

test.run()
