// deploy/ holds what README > Deploying promises: a hardened systemd unit, an nginx site, a matching config.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const read = (name: string) => readFileSync(new URL(`../../deploy/${name}`, import.meta.url), 'utf8')
const unit = read('hafnium.service')
const site = read('nginx-hafnium.conf')
const config = JSON.parse(read('server.config.json'))

/** `Key=value` lines of the unit (comments skipped). */
function directives(text: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim())
    if (match) found.set(match[1]!, match[2]!)
  }
  return found
}

test('the systemd unit restarts on failure as a dedicated user, read-only but for the data directory', () => {
  const d = directives(unit)
  assert.is(d.get('Restart'), 'on-failure')
  assert.is(d.get('User'), 'hafnium')
  assert.is(d.get('ProtectSystem'), 'strict')
  assert.is(d.get('ReadWritePaths'), dirname(config.database.path), 'ReadWritePaths is the directory of the deploy config database.path')
  assert.ok(Number(d.get('LimitNOFILE')) >= 65536, 'LimitNOFILE')
  assert.is(d.get('NoNewPrivileges'), 'yes')
  assert.match(d.get('ExecStart') ?? '', /hafnium\.js serve --config \/etc\/hafnium\/server\.config\.json$/)
})

test('systemd-analyze verify accepts the unit (where systemd-analyze exists)', () => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) return
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-unit-'))
  try {
    // verify checks that ExecStart's binary exists: point it at this machine's node.
    const file = join(dir, 'hafnium.service')
    writeFileSync(file, unit.replace('/usr/bin/node', process.execPath))
    const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' })
    assert.is(result.status, 0, result.stderr)
    assert.is(result.stderr.trim(), '', result.stderr)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the nginx site upgrades WebSockets, sets X-Forwarded-For, outlives the heartbeat and hides /metrics', () => {
  for (const line of [
    'proxy_http_version 1.1;',
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header Connection $connection_upgrade;',
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'location = /metrics {',
    `server ${config.server.host}:${config.server.port};`,
  ]) {
    assert.ok(site.includes(line), `nginx-hafnium.conf lacks "${line}"`)
  }
  const readTimeout = Number(/proxy_read_timeout (\d+)s;/.exec(site)?.[1])
  assert.ok(readTimeout * 1000 > 30_000, 'proxy_read_timeout exceeds the 30 s heartbeat')
})

test('the deploy config trusts exactly the local proxy', () => {
  assert.equal(config.server.trustProxy, ['127.0.0.1/32', '::1/128'])
  assert.is(config.server.host, '127.0.0.1', 'only the proxy reaches the server')
})

test('README > Deploying covers each deploy file, and SECURITY.md names a real private channel', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const deploying = readme.slice(readme.indexOf('\n## Deploying'), readme.indexOf('\n## ', readme.indexOf('\n## Deploying') + 1))
  for (const heading of ['TLS', 'systemd', 'Backups and restore', 'File permissions', 'Upgrading', 'What to monitor']) {
    assert.match(deploying, new RegExp(`^### .*${heading}`, 'm'), `README > Deploying has no "${heading}" part`)
  }
  for (const file of ['hafnium.service', 'nginx-hafnium.conf', 'server.config.json']) assert.ok(deploying.includes(`deploy/${file}`), file)
  const security = readFileSync(new URL('../../SECURITY.md', import.meta.url), 'utf8')
  assert.not.match(security, /\.invalid|placeholder/i)
  assert.match(security, /Report a vulnerability/)
  assert.match(security, /^## Supported versions/m)
})

test.run()
