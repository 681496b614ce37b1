// `npm start` then Ctrl-C exits 0: the whole process group gets SIGINT, as from a terminal.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from '../support/client.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** Rejects saying what it waited for when `promise` takes longer than `ms`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)))
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

test('npm start, then Ctrl-C (SIGINT to the process group): the server drains and npm exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-start-'))
  // detached: a process group of its own, like a terminal's foreground job (npm, its shell, the server).
  const child = spawn('npm', ['start', '--silent', '--', '--port', '0', '--db', join(dir, 'start.db')], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  try {
    await within(20_000, 'ready line from npm start', new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk
        if (/listening on ws:\/\//.test(stdout)) resolve()
      })
      void exited.then(({ code, signal }) => reject(new Error(`npm start exited (${code ?? signal}) before listening: ${stderr}`)))
    }))
    // Serving for real (not just printed): a round trip first.
    const url = /listening on (ws:\/\/\S+)/.exec(stdout)![1]!
    const client = await within(10_000, 'connection to the server', connect(url))
    assert.is((await within(10_000, 'ping reply', client.request('server:ping'))).ok, true)
    client.terminate()
    process.kill(-child.pid!, 'SIGINT')
    const { code, signal } = await within(20_000, 'exit of npm start after SIGINT', exited)
    assert.equal({ code, signal }, { code: 0, signal: null }, stderr)
    assert.not.match(stderr, /second SIGINT/, 'one Ctrl-C is one stop, though npm forwards it again')
    assert.match(stderr, /"msg":"closed"/, 'the server drained')
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
