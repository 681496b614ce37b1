// Start-up warnings for production mistakes (issue 12 item 7): logged at warn, naming the setting to change.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'
import { httpGet } from '../support/http.ts'
import { tryConnect } from '../hardening/support.ts'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'

interface LogLine {
  level: number
  msg: string
  setting?: string
}

/** A server logging at warn into a file; `warnings()` reads the warn lines written so far. */
async function withServer(overrides: DeepPartial<Config>, body: (t: TestServer, warnings: () => LogLine[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-warn-'))
  const logFile = join(dir, 'log.jsonl')
  const t = await startTestServer({ ...overrides, log: { level: 'warn' } }, { logFile })
  const warnings = () =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine)
      .filter((line) => line.level === 40)
  try {
    await body(t, warnings)
  } finally {
    await t.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const settings = (lines: LogLine[]) => lines.map((line) => line.setting)

test('the console transport: codes nobody receives, with the setting to change', async () => {
  await withServer({}, async (_t, warnings) => {
    const lines = warnings().filter((line) => line.setting?.startsWith('delivery.'))
    assert.equal(settings(lines), ['delivery.email.transport', 'delivery.sms.transport'])
    assert.match(lines[0]!.msg, 'nobody receives them; set delivery.email.transport to "smtp"')
    assert.match(lines[1]!.msg, 'set delivery.sms.transport to "webhook"')
  })
  const smtp = { transport: 'smtp', host: '127.0.0.1', port: 2525, secure: false, from: 'Hafnium <noreply@example.org>' }
  await withServer({ delivery: { email: smtp as never } }, async (_t, warnings) => {
    assert.equal(settings(warnings()).filter((s) => s?.startsWith('delivery.')), ['delivery.sms.transport'])
  })
})

test('allowedOrigins [] warns on a non-loopback host only', async () => {
  await withServer({ server: { host: '0.0.0.0' } }, async (_t, warnings) => {
    const line = warnings().find((l) => l.setting === 'server.allowedOrigins')
    assert.ok(line, 'warned')
    assert.match(line.msg, 'list your web clients\' origins in server.allowedOrigins')
  })
  await withServer({ server: { host: '0.0.0.0', allowedOrigins: ['https://chat.example.org'] } }, async (_t, warnings) => {
    assert.not.ok(settings(warnings()).includes('server.allowedOrigins'))
  })
  await withServer({}, async (_t, warnings) => {
    assert.not.ok(settings(warnings()).includes('server.allowedOrigins'), '127.0.0.1 is not reachable from elsewhere')
  })
})

test('X-Forwarded-For with trustProxy empty: one warning, not one per request', async () => {
  await withServer({}, async (t, warnings) => {
    assert.not.ok(settings(warnings()).includes('server.trustProxy'), 'nothing before a forwarded request')
    const opened = []
    for (let i = 0; i < 3; i++) opened.push(await tryConnect(t.url, { headers: { 'X-Forwarded-For': `203.0.113.${i}` } }))
    await httpGet(t.url.replace('ws://', 'http://') + 'healthz', { headers: { 'X-Forwarded-For': '203.0.113.9' } })
    for (const r of opened) r.ws?.terminate()
    const lines = warnings().filter((l) => l.setting === 'server.trustProxy')
    assert.is(lines.length, 1)
    assert.match(lines[0]!.msg, "list the proxy's address in server.trustProxy")
  })
  await withServer({ server: { trustProxy: ['127.0.0.1/32'] } }, async (t, warnings) => {
    const r = await tryConnect(t.url, { headers: { 'X-Forwarded-For': '203.0.113.1' } })
    r.ws?.terminate()
    assert.not.ok(settings(warnings()).includes('server.trustProxy'))
  })
})

test('a rate-limit rule that limits nothing as written: types on a rule by account or destination, an account rule other than login_account', async () => {
  const rules = {
    login_account: { types: ['profile:login'] },
    code_destination: { types: [] as string[] },
    guesses_account: { subject: 'account', capacity: 5, refillPerSecond: 1 },
  }
  await withServer({ ratelimit: { rules } as never }, async (_t, warnings) => {
    const lines = warnings().filter((line) => line.setting?.startsWith('ratelimit.'))
    assert.equal(settings(lines), ['ratelimit.rules.login_account.types', 'ratelimit.rules.guesses_account'])
    assert.match(lines[0]!.msg, 'is ignored: a rule by account is charged where the account is known')
    assert.match(lines[1]!.msg, 'is never charged: password attempts are charged to login_account only')
  })
  await withServer({}, async (_t, warnings) => {
    assert.equal(settings(warnings()).filter((s) => s?.startsWith('ratelimit.')), [], 'the shipped rules warn of nothing')
  })
})

test('trustProxy trusting every address is a warning', async () => {
  await withServer({ server: { trustProxy: ['127.0.0.1/32', '::/0'] } }, async (_t, warnings) => {
    const line = warnings().find((l) => l.setting === 'server.trustProxy')
    assert.ok(line, 'warned')
    assert.match(line.msg, 'contains ::/0, which trusts every peer')
  })
  await withServer({ server: { trustProxy: ['10.0.0.0/8'] } }, async (_t, warnings) => {
    assert.not.ok(settings(warnings()).includes('server.trustProxy'))
  })
})

test.run()
