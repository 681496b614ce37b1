// `hafnium client` on a (fake) terminal: help as the README says, history in a file without secrets, notices that keep the typed line.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { client } from '../../src/cli/client.ts'
import { help } from '../../src/cli/client-commands.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const test = suite<{ t: TestServer; idle: TestServer; dir: string }>('hafnium client on a terminal')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  // A short auth deadline: the server closes the REPL's idle anonymous socket while the user types.
  ctx.idle = await startTestServer({ server: { authTimeoutMs: 400 } })
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-repl-'))
})
test.after(async (ctx) => {
  await ctx.t.close()
  await ctx.idle.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

/** A terminal: keys go in, everything written comes out; `until` waits (bounded) for some output. */
function terminal(env: Record<string, string>) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} })
  let written = ''
  const listeners = new Set<() => void>()
  const stdout = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk)
        for (const listener of listeners) listener()
        done()
      },
    }),
    { isTTY: true, columns: 200 },
  )
  const plain = () => written.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
  const until = (what: string, test: (text: string) => boolean, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!test(plain())) return
        listeners.delete(check)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`no ${what} on the terminal within ${ms} ms; it shows:\n${plain()}`))
      }, ms)
      listeners.add(check)
      check()
    })
  return { stdin, stdout, stderr: stdout, env: { NO_COLOR: '1', ...env }, plain, until, type: (keys: string) => stdin.write(keys) }
}

test('help prints exactly the block README > Interactive client shows', async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Interactive client'), readme.indexOf('## Conformance'))
  assert.ok(section.includes(`\`\`\`text\n${help}\`\`\``), 'README > Interactive client quotes the help text')
})

test('history: earlier lines come back with ↑; the file keeps lines without secrets, mode 0600', async ({ t, dir }) => {
  const file = join(dir, 'history')
  writeFileSync(file, 'whoami\nserver:ping\n')
  const term = terminal({ HAFNIUM_HISTORY: file })
  const done = client([t.url], term)
  await term.until('prompt', (text) => text.includes('localhost> '))
  term.type('\x1b[A\r') // ↑ then Enter: the newest line of the file
  await term.until('ping reply from history', (text) => text.includes('✓ server:ping'))
  term.type('register histuser a-long-enough-password-1\r')
  await term.until('register reply', (text) => text.includes('✓ profile:register'))
  term.type('send profile:sudo {"password": "a-long-enough-password-1"}\r')
  await term.until('sudo reply', (text) => text.includes('profile:sudo'))
  term.type('profile:get\r')
  await term.until('profile reply', (text) => text.includes('✓ profile:get'))
  term.type('quit\r')
  assert.is(await done, 0)
  assert.is(readFileSync(file, 'utf8'), 'whoami\nserver:ping\nprofile:get\nquit\n')
  assert.is(statSync(file).mode & 0o777, 0o600)
})

test('the server closing the idle socket while the user types: the notice goes above, the typed text stays', async ({ idle, dir }) => {
  const term = terminal({ HAFNIUM_HISTORY: join(dir, 'idle-history') })
  const done = client([idle.url], term)
  await term.until('prompt', (text) => text.includes('localhost> '))
  term.type('serv')
  await term.until('idle notice', (text) => text.includes('· connection closed by the server'))
  const after = term.plain().slice(term.plain().indexOf('· connection closed by the server'))
  assert.match(after, /\nlocalhost> serv$/, 'the prompt and the half-typed line are drawn again below the notice')
  term.type('er:ping\r')
  await term.until('ping reply', (text) => text.includes('✓ server:ping'))
  term.type('quit\r')
  assert.is(await done, 0)
})

test.run()
