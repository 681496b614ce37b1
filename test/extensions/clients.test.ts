// Extension types from the client side: the client library, the REPL, and the conformance suite.
import { Readable, Writable } from 'node:stream'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HafniumClient, HafniumError } from '../../src/client/index.ts'
import { client as clientCommand } from '../../src/cli/client.ts'
import { runConformance } from '../../src/conformance/index.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { within } from '../support/within.ts'
import { extensionDir, probeExtension } from './support.ts'

const password = 'balcony-scene-2'
const test = suite<{ t: TestServer }>('extensions: clients')

test.before(async (ctx) => {
  ctx.t = await startTestServer({ extensions: [extensionDir().write('probe.mjs', probeExtension)] })
})
test.after(async (ctx) => ctx.t.close())

test('client library: request() and on() work for any type', async ({ t }) => {
  const client = await HafniumClient.connect(t.url, { requestTimeoutMs: 5000 })
  try {
    await client.register('nurse', password)
    assert.is((await client.request('probe:echo', { text: 'hi' })).text, 'hi')
    const poked = within(new Promise((resolve) => client.on('probe:poke', (payload) => resolve(payload))), 5000, 'probe:poke')
    const reply = await client.request('probe:notify', { to: client.session!.userID })
    assert.equal(reply, { reached: 1 })
    assert.equal(await poked, { from: client.session!.userID })
    try {
      await client.request('probe:refuse', { how: 'full' })
      assert.unreachable('refused')
    } catch (error) {
      assert.instance(error, HafniumError)
      assert.equal([(error as HafniumError).errID, (error as HafniumError).errPayload], ['too_late', { at: 1 }])
    }
  } finally {
    await client.close()
  }
})

/** `hafnium client URL` in this process, fed `input` line by line. */
async function repl(url: string, input: string[]) {
  let stdout = ''
  let stderr = ''
  const sink = (append: (text: string) => void) => new Writable({ write: (chunk, _e, done) => (append(String(chunk)), done()) })
  const io = { stdin: Readable.from(input.map((line) => `${line}\n`)), stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: { NO_COLOR: '1' } }
  const code = await within(clientCommand([url], io), 20_000, 'the REPL to finish its input')
  return { code, stdout, stderr }
}

test('REPL: sends any type with send TYPE JSON (or TYPE JSON) and prints extension events', async ({ t }) => {
  const { code, stdout, stderr } = await repl(t.url, [
    `register tybalt ${password}`,
    'send probe:echo {"text": "hi"}',
    'probe:whoami',
    'send probe:notify {"to": "@tybalt@localhost"}',
    'probe:refuse {"how": "full"}',
  ])
  assert.is(stderr, '')
  assert.is(code, 0)
  assert.match(stdout, /✓ probe:echo[^\n]*\n[\s\S]*"text": "hi"/)
  assert.match(stdout, /✓ probe:whoami[\s\S]*"userID": "@tybalt@localhost"/)
  assert.match(stdout, /⚡ probe:poke \(event\)\n\s+\{\n\s+"from": "@tybalt@localhost"/)
  assert.match(stdout, /✓ probe:notify[\s\S]*"reached": 1/)
  assert.match(stdout, /✗ probe:refuse too_late: That was yesterday/)
})

test('conformance: passes against a server with extension types, which it lists as skipped', async ({ t }) => {
  const report = await runConformance({ url: t.url })
  assert.equal(report.results.filter((r) => r.status === 'fail').map((r) => `${r.name}: ${r.reason}`), [])
  const skipped = report.results.find((r) => r.name === 'server.application_types')
  assert.ok(skipped, 'the application types are reported')
  assert.is(skipped!.status, 'skip')
  assert.is(skipped!.reason, 'application message types are not part of the contract: probe:crash, probe:echo, probe:notify, probe:refuse, probe:slow, probe:whoami')
})

test.run()
