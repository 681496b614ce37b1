// A real `hafnium serve` killed with -9 after acknowledging a code request, before the send completed: delivered after restart.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { openStore } from '../../src/store/index.ts'
import { connect } from '../support/client.ts'
import { runCli, type CliProcess } from '../support/process.ts'
import { startReceiver } from './support.ts'
import { within } from '../support/within.ts'

const test = suite<{ dir: string }>('delivery across a kill -9')
const started: CliProcess[] = []
const serve = (args: string[]) => {
  const server = runCli(['serve', ...args])
  started.push(server)
  return server
}

test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-restart-'))
})
test.after(({ dir }) => {
  // A failed assertion must not leave a server running.
  for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

test('an acknowledged code survives kill -9 of the server mid-send and is delivered (and usable) after restart', async ({ dir }) => {
  // The gateway holds the first POST unanswered (the server is killed while waiting), then accepts.
  const gateway = await startReceiver([0, 200])
  const config = join(dir, 'config.json')
  writeFileSync(
    config,
    JSON.stringify({
      password: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } },
      log: { level: 'warn' },
      ratelimit: { enabled: false },
      delivery: { sms: { transport: 'webhook', url: gateway.url }, pollMs: 100 },
    }),
  )
  const db = join(dir, 'hafnium.db')

  const first = serve(['--config', config, '--port', '0', '--db', db])
  const client = await connect(await first.ready)
  const reply = await client.request('verification:request', { purpose: 'signup', thirdPID: '+33612345678' })
  assert.is(reply.ok, true, JSON.stringify(reply.payload))
  const { verificationID } = reply.payload
  const held = JSON.parse((await within(gateway.nth(1), 20_000, 'the first send')).body)
  assert.equal({ channel: held.channel, to: held.to, purpose: held.purpose }, { channel: 'msisdn', to: '+33612345678', purpose: 'signup' })
  assert.match(held.code, /^[0-9]{6}$/)
  first.child.kill('SIGKILL')
  assert.is((await first.exited).signal, 'SIGKILL')
  client.terminate()

  // While no server runs: the message is in the database, and its code is not readable there.
  const files = readdirSync(dir).filter((f) => f.startsWith('hafnium.db') && !f.endsWith('.key'))
  const bytes = Buffer.concat(files.map((f) => readFileSync(join(dir, f))))
  assert.ok(bytes.length > 0)
  assert.is(bytes.indexOf(held.code), -1, 'the code is not in the clear in the database files')

  const second = serve(['--config', config, '--port', '0', '--db', db])
  const again = await connect(await second.ready)
  const delivered = JSON.parse((await within(gateway.nth(2), 20_000, 'the send after the restart')).body)
  assert.is(delivered.code, held.code, 'the same message, resent')
  assert.is(gateway.received[1]!.status, 200)

  const verified = await again.request('verification:verify', { verificationID, code: delivered.code })
  assert.is(verified.ok, true, JSON.stringify(verified.payload))
  again.terminate()
  second.child.kill('SIGTERM')
  assert.is((await second.exited).code, 0)

  // The graceful stop waited for the send it had in flight, so nothing is left to send.
  const store = openStore(db, { synchronous: 'normal', busyTimeoutMs: 200 })
  assert.is(await store.outbox.pending(), 0)
  store.close()
  assert.is(gateway.received.length, 2, 'not sent a third time')
  await gateway.close()
})

test.run()
