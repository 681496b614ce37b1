// The server's node flags (package.json's start script) are the ones the systemd unit and the bench use, and they keep V8's collector on the event loop's thread.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { serverNodeFlags } from '../../bench/node-flags.ts'

const root = new URL('../../', import.meta.url).pathname
const flags = serverNodeFlags(root)

test('the systemd unit passes the same flags as npm start', () => {
  const execStart = readFileSync(root + 'deploy/hafnium.service', 'utf8').split('\n').find((line) => line.startsWith('ExecStart='))
  assert.is(execStart, `ExecStart=/usr/bin/node ${flags.map((flag) => flag + ' ').join('')}/opt/hafnium/node_modules/hafnium/bin/hafnium.js serve --config /etc/hafnium/server.config.json`)
})

test('the hafnium command runs through a plain shebang (no env -S, which BusyBox lacks)', () => {
  assert.is(readFileSync(root + 'bin/hafnium.js', 'utf8').split('\n', 1)[0], '#!/usr/bin/env node')
})

// V8 starts 4 helper threads whatever the CPUs the process may use; on one core their concurrent marking took
// 4 of every 5 scheduler slices from the event loop for 60-150 ms per old-generation cycle (the bench's mixed
// at half its peak: p99 ~52 ms). Under the start flags a collection-heavy run spends no CPU outside the main thread.
const probe = `
const { readFileSync, readdirSync } = require('node:fs')
const kept = new Map()
for (let n = 0; n < 1_500_000; n++) kept.set(n % 150_000, { id: 'u' + n, profile: { name: 'n' + n, tags: [n, n + 1] } })
// A thread may end between the listing and the read: it counts 0.
const ticks = (tid) => { try { const f = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]) } catch { return 0 } }
const main = ticks(String(process.pid))
const others = readdirSync('/proc/self/task').filter((t) => t !== String(process.pid)).reduce((sum, t) => sum + ticks(t), 0)
console.log(JSON.stringify({ main, others }))
`
test('under the start flags garbage collection runs on the event loop thread only (Linux)', () => {
  if (!existsSync('/proc/self/task')) return
  // No inherited NODE_OPTIONS: a preload (--import tsx) would start a thread of its own.
  const run = spawnSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } })
  assert.is(run.status, 0, `probe exited ${run.status} ${run.signal ?? ''}: ${run.stderr}`)
  const { main, others } = JSON.parse(run.stdout) as { main: number; others: number }
  assert.ok(main > 20, `the probe's main thread used ${main} ticks: too little collection to tell anything`)
  // Clock ticks (10 ms): without the flag the helpers ran ~30% of the main thread's time here; allow compile tasks a little.
  assert.ok(others <= 2 + main * 0.05, `threads other than the event loop's used ${others} ticks beside its ${main}`)
})

test.run()
