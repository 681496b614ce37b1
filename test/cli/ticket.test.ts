// `hafnium ticket sign` as a real process: its tickets sign in on a real server; bad keys are refused.
import { generateKeyPairSync } from 'node:crypto'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeJwt } from 'jose'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const entry = join(root, 'src/cli/entry.ts')
const secret = 'an-hs256-secret-of-at-least-32-bytes!'
const ed = generateKeyPairSync('ed25519')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** The CLI from source, as `npx hafnium` would run it; stdin is written and closed; bounded. */
function hafnium(args: string[], stdin = ''): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdin.on('error', () => {})
  child.stdin.end(stdin)
  const timer = setTimeout(() => child.kill(), 30_000)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const test = suite<{ t: TestServer; dir: string }>('hafnium ticket sign')

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-ticket-cli-'))
  ctx.t = await startTestServer({
    tickets: {
      issuers: [
        { iss: 'https://hs.example', alg: 'HS256', secret },
        { iss: 'https://ed.example', alg: 'EdDSA', publicKey: ed.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      ],
    },
  })
})
test.after(async (ctx) => {
  await ctx.t.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

test('HS256 with the secret on stdin, EdDSA with a key file: both tickets sign in, once', async ({ t, dir }) => {
  const hs = await hafnium(['ticket', 'sign', '--iss', 'https://hs.example', '--sub', 'cli-user'], secret + '\n')
  assert.is(hs.code, 0, hs.stderr)
  const claims = decodeJwt(hs.stdout.trim())
  assert.equal([claims.iss, claims.sub, claims.aud, claims.exp! - claims.iat!], ['https://hs.example', 'cli-user', 'localhost', 300])
  assert.ok(!hs.stdout.includes(secret) && !hs.stderr.includes(secret), 'the secret is never printed')

  const keyFile = join(dir, 'ed.pem')
  writeFileSync(keyFile, ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 })
  const eddsa = await hafnium(['ticket', 'sign', '--iss', 'https://ed.example', '--sub', 'cli-user', '--alg', 'EdDSA', '--key-file', keyFile, '--ttl', '60'])
  assert.is(eddsa.code, 0, eddsa.stderr)

  for (const token of [hs.stdout.trim(), eddsa.stdout.trim()]) {
    const c = await t.connect()
    const reply = await c.request('profile:login', { ticket: token })
    assert.is(reply.ok, true, JSON.stringify(reply.payload))
    assert.is((await (await t.connect()).request('profile:login', { ticket: token })).payload.errID, 'invalid_token')
  }
})

test('refusals: a short secret, a public key for EdDSA, a ttl over 600, a missing --sub, no key', async () => {
  const cases: [string[], string, RegExp][] = [
    [['--iss', 'i', '--sub', 's'], 'short-secret', /at least 32 bytes/],
    [['--iss', 'i', '--sub', 's', '--alg', 'EdDSA'], ed.publicKey.export({ type: 'spki', format: 'pem' }).toString(), /EdDSA needs a PEM private key/],
    [['--iss', 'i', '--sub', 's', '--ttl', '601'], secret, /--ttl must be an integer from 1 to 600/],
    [['--iss', 'i'], secret, /--sub is required/],
    [['--iss', 'i', '--sub', 's'], '', /no key/],
  ]
  for (const [args, stdin, message] of cases) {
    const run = await hafnium(['ticket', 'sign', ...args], stdin)
    assert.is(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
    assert.match(run.stderr, message)
    assert.is(run.stdout, '')
  }
})

test.run()
