// `hafnium serve` as a process: config errors, the one-process-per-database lock, kill -9 restarts, SIGTERM drain.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from '../support/client.ts'
import { runCli } from '../support/process.ts'

const test = suite<{ dir: string; config: string }>('hafnium serve')

test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-serve-'))
  ctx.config = join(ctx.dir, 'test.config.json')
  writeFileSync(
    ctx.config,
    JSON.stringify({ password: { argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 } }, log: { level: 'warn' }, ratelimit: { enabled: false } }),
  )
})
test.after(({ dir }) => rmSync(dir, { recursive: true, force: true }))

const writeConfig = (dir: string, name: string, value: unknown) => {
  const path = join(dir, name)
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value))
  return path
}

test('an unknown config key stops start-up with exit 1 naming the key', async ({ dir }) => {
  const bad = writeConfig(dir, 'unknown.json', { server: { prot: 1 } })
  const { code, stderr } = await runCli(['serve', '--config', bad, '--port', '0', '--db', join(dir, 'x.db')]).exited
  assert.is(code, 1)
  assert.match(stderr, /config: server\.prot: must NOT have additional properties/)
})

test('a wrong value or unreadable file stops start-up with exit 1 naming it', async ({ dir }) => {
  const wrong = writeConfig(dir, 'wrong.json', { limits: { maxMessageBytes: 'big' } })
  const first = await runCli(['serve', '--config', wrong, '--port', '0', '--db', join(dir, 'x.db')]).exited
  assert.is(first.code, 1)
  assert.match(first.stderr, /limits\.maxMessageBytes: must be integer/)
  const broken = writeConfig(dir, 'broken.json', '{"server": ')
  const second = await runCli(['serve', '--config', broken]).exited
  assert.is(second.code, 1)
  assert.match(second.stderr, /not valid JSON/)
  const badPort = await runCli(['serve', '--port', 'eighty']).exited
  assert.is(badPort.code, 2)
  assert.match(badPort.stderr, /--port/)
})

test('a second server on the same database is refused while the first keeps serving; kill -9 does not block a restart', async ({ dir, config }) => {
  const db = join(dir, 'locked.db')
  const first = runCli(['serve', '--config', config, '--port', '0', '--db', db])
  const url = await first.ready
  const second = await runCli(['serve', '--config', config, '--port', '0', '--db', db]).exited
  assert.is.not(second.code, 0)
  assert.match(second.stderr, /in use/)
  const client = await connect(url)
  assert.is((await client.request('server:ping')).ok, true, 'the first server still answers')
  client.terminate()

  first.child.kill('SIGKILL')
  assert.is((await first.exited).signal, 'SIGKILL')
  const third = runCli(['serve', '--config', config, '--port', '0', '--db', db])
  const thirdURL = await third.ready
  const again = await connect(thirdURL)
  assert.is((await again.request('server:ping')).ok, true)
  again.terminate()
  third.child.kill('SIGTERM')
  assert.is((await third.exited).code, 0)
})

test('SIGTERM: in-flight requests are answered, sockets close with 1001, exit 0', async ({ dir, config }) => {
  // argon2 at t=20 takes far longer than a ping round trip, so the login is still running when the signal lands.
  const slow = writeConfig(dir, 'slow.json', { password: { argon2: { memoryCost: 19456, timeCost: 20, parallelism: 1 } }, log: { level: 'warn' } })
  const server = runCli(['serve', '--config', slow, '--port', '0', '--db', join(dir, 'drain.db')])
  const url = await server.ready
  const client = await connect(url)
  const idle = await connect(url)
  const pending = client.request('profile:login', { username: 'nobody', password: 'whatever-pass' })
  // The login frame was written first: once another socket's round trip completes, the server has read it.
  await idle.request('server:ping')
  server.child.kill('SIGTERM')
  const reply = await pending
  assert.is(reply.payload.errID, 'invalid_creds', 'the in-flight request got its answer')
  assert.is((await client.closed).code, 1001)
  assert.is((await idle.closed).code, 1001)
  const { code } = await server.exited
  assert.is(code, 0)
})

test('SIGINT drains too', async ({ dir, config }) => {
  const server = runCli(['serve', '--config', config, '--port', '0', '--db', join(dir, 'int.db')])
  const client = await connect(await server.ready)
  server.child.kill('SIGINT')
  assert.is((await client.closed).code, 1001)
  assert.is((await server.exited).code, 0)
})

test('logs: a level that is not one is a config error naming it (file or LOG_LEVEL); log.format pretty or json', async ({ dir, config }) => {
  const bad = writeConfig(dir, 'bad-level.json', { log: { level: 'verbose' } })
  const fromFile = await runCli(['serve', '--config', bad, '--port', '0', '--db', join(dir, 'l.db')]).exited
  assert.equal([fromFile.code, fromFile.stderr], [1, 'hafnium serve: config: log.level: "verbose" is not one of "trace", "debug", "info", "warn", "error", "fatal", "silent"\n'])
  const fromEnv = await runCli(['serve', '--config', config, '--port', '0', '--db', join(dir, 'l.db')], { env: { LOG_LEVEL: 'verbose' } }).exited
  assert.equal([fromEnv.code, fromEnv.stderr], [1, 'hafnium serve: LOG_LEVEL is "verbose", which is not a log level (one of trace, debug, info, warn, error, fatal, silent)\n'])

  for (const format of ['pretty', 'json'] as const) {
    const file = writeConfig(dir, `${format}.json`, { password: { argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 } }, log: { level: 'info', format } })
    const server = runCli(['serve', '--config', file, '--port', '0', '--db', join(dir, `${format}.db`)])
    await server.ready
    server.child.kill('SIGTERM')
    const { code, stderr } = await server.exited
    assert.is(code, 0, stderr)
    // Start-up warnings (console delivery…) may come first: every line is in the format, one of them says listening.
    const lines = stderr.split('\n').filter((l) => /^\S/.test(l))
    if (format === 'json') assert.ok(lines.map((l) => JSON.parse(l).msg).includes('listening'), stderr)
    else {
      assert.ok(lines.every((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z]+/.test(l)), stderr)
      assert.ok(lines.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*: listening$/.test(l)), stderr)
    }
  }
})

test.run()
