// The server's node flags (package.json's start script; none today) are the ones the systemd unit and the bench use.
import { readFileSync } from 'node:fs'
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

test.run()
