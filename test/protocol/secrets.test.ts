// No password, token or code reaches a log line, even at trace level and when a handler fails.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { verifyThirdPIDs } from '../support/accounts.ts'
import { startTestServer } from '../support/server.ts'

test('logs at trace level carry none of the secrets a session used', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-logs-'))
  const logFile = join(dir, 'server.log')
  const outboxFile = join(dir, 'outbox.jsonl')
  const t = await startTestServer({ log: { level: 'trace' }, delivery: { outboxFile } }, { logFile })
  const secrets: string[] = []
  const c = await t.connect()
  const password = 'lantern-orchard-77'
  secrets.push(password)
  const reg = await c.request('profile:register', { username: 'logged', password, thirdPIDs: [{ type: 'email', value: 'logged@example.org' }], loginOnSuccess: true })
  assert.ok(reg.ok, JSON.stringify(reg.payload))
  secrets.push(reg.payload.loginPayload.authToken)
  await verifyThirdPIDs(t, 'logged') // login codes go only to proven addresses
  const wrong = await c.request('profile:login', { username: 'logged', password: 'wrong-guess-123' })
  assert.is(wrong.payload.errID, 'invalid_creds')
  secrets.push('wrong-guess-123')
  const sudo = await c.request('profile:sudo', { password })
  assert.ok(sudo.ok)
  secrets.push(sudo.payload.sudoToken)
  const request = await c.request('verification:request', { purpose: 'login', thirdPID: 'logged@example.org' })
  assert.ok(request.ok, JSON.stringify(request.payload))
  await t.server.delivery.drainOnce()
  const code = JSON.parse(readFileSync(outboxFile, 'utf8').trim().split('\n').at(-1)!).code as string
  const verified = await c.request('verification:verify', { verificationID: request.payload.verificationID, code })
  assert.ok(verified.ok)
  secrets.push(verified.payload.verificationToken)
  // An internal error is logged with its details: make one happen mid-session.
  t.server.store.close()
  assert.is((await c.request('profile:login', { username: 'logged', password })).payload.errID, 'internal_error')
  await t.close().catch(() => {})

  assert.ok(existsSync(logFile))
  const log = readFileSync(logFile, 'utf8')
  assert.match(log, /handler failed/, 'the log is really being written')
  for (const secret of secrets) assert.not.ok(log.includes(secret), `a secret reached the log: ${secret.slice(0, 6)}…`)
  // The code itself: 6 digits could occur by chance in timestamps, so look for it as a JSON value.
  assert.not.ok(log.includes(`"${code}"`))
  rmSync(dir, { recursive: true, force: true })
})

test.run()
