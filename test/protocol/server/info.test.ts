// server:info's `node` (contract §17): the configured name, or <hostname>-<pid> by default.
import { hostname } from 'node:os'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { nodeName } from '../../../src/cluster/node-name.ts'
import { startTestServer } from '../../support/server.ts'

test('server:info reports server.node as node', async () => {
  const t = await startTestServer({ server: { node: 'eu-west.2' } })
  try {
    const c = await t.connect()
    const info = await c.request('server:info')
    assert.is(info.ok, true)
    assert.is(info.payload.node, 'eu-west.2')
  } finally {
    await t.close()
  }
})

test('without server.node, node is <hostname>-<pid> of the serving process', async () => {
  const t = await startTestServer()
  try {
    const c = await t.connect()
    const info = await c.request('server:info')
    assert.is(info.payload.node, nodeName(null))
    assert.ok(info.payload.node.endsWith(`-${process.pid}`), info.payload.node)
    assert.ok(/^[A-Za-z0-9._-]{1,64}$/.test(info.payload.node), info.payload.node)
    assert.ok(info.payload.node.startsWith(hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 8)))
  } finally {
    await t.close()
  }
})

test('the default name keeps to the config pattern whatever the host name', () => {
  assert.is(nodeName(null, 'héte name', 42), 'h_te_name-42')
  assert.is(nodeName(null, 'x'.repeat(100), 1234).length, 64)
  assert.is(nodeName(null, '', 7), 'node-7')
  assert.is(nodeName('given', 'ignored', 1), 'given')
})

test('a node name outside the pattern is a config error', async () => {
  const { loadConfig } = await import('../../../src/config.ts')
  assert.throws(() => loadConfig({ overrides: { server: { node: 'a|b' } } }), /node/)
})

test.run()
