// The server's node flags (bin/hafnium.js's shebang) are the same wherever the package starts it.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { hafniumCommand } from '../../bench/processes.ts'

const root = new URL('../../', import.meta.url).pathname
const read = (path: string) => readFileSync(root + path, 'utf8')
const flags = hafniumCommand(root).slice(1, -1)

test('the shebang gives node the young-generation cap', () => {
  assert.equal(flags, ['--max-semi-space-size=4'])
})

test('npm start and the systemd unit pass the shebang\'s flags', () => {
  const start = JSON.parse(read('package.json')).scripts.start as string
  assert.is(start, `exec node ${flags.join(' ')} bin/hafnium.js serve`)
  const execStart = read('deploy/hafnium.service').split('\n').find((line) => line.startsWith('ExecStart='))
  assert.is(execStart, `ExecStart=/usr/bin/node ${flags.join(' ')} /opt/hafnium/node_modules/hafnium/bin/hafnium.js serve --config /etc/hafnium/server.config.json`)
})

test('the command runs through its shebang (env -S splits the flags from node)', async () => {
  const { spawnSync } = await import('node:child_process')
  const result = spawnSync(root + 'bin/hafnium.js', ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env.PATH}` } })
  assert.is(result.status, 0, result.stderr)
  assert.match(result.stdout, /\d+\.\d+\.\d+/)
})

test.run()
