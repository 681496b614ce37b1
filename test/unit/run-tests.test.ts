// scripts/run-tests.mjs (npm test's runner): a run whose test left a server open still ends, soon after its
// totals, with uvu's exit code, naming where that server was started (uvu alone waited forever).
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { within } from '../support/within.ts'

const test = suite('scripts/run-tests.mjs')
const root = fileURLToPath(new URL('../../', import.meta.url))
const serverModule = fileURLToPath(new URL('../support/server.ts', import.meta.url))

test('a failing test that leaves its server open: the run ends within seconds, exit 1, and names the server', async () => {
  // Inside the checkout (so the fixture resolves uvu) but outside test/ (so no other run picks it up).
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true })
  const dir = mkdtempSync(join(root, 'node_modules/.cache/hafnium-runner-'))
  try {
    writeFileSync(
      join(dir, 'leak.test.ts'),
      `import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer } from ${JSON.stringify(serverModule)}
test('leaks', async () => {
  await startTestServer()
  assert.unreachable('fails before its close')
})
test.run()
`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-tests.mjs', dir, 'leak'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ""
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const started = Date.now()
    const code = await within(new Promise<number | null>((resolve) => child.on('exit', resolve)), 60_000, 'the runner to exit').catch((error) => {
      child.kill('SIGKILL')
      throw error
    })
    output = output.replace(/\x1b\[[0-9;]*m/g, '')
    assert.is(code, 1, output)
    assert.match(output, /Total:\s+1/)
    assert.match(output, /a test server never closed, started at .*leak\.test\.ts:5/)
    assert.ok(Date.now() - started < 45_000, `took ${Date.now() - started} ms`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
