// GET /metrics (contract §11): who may read it, and label values from a fixed set whatever clients send.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'
import { httpGet } from '../support/http.ts'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'

async function withServer(overrides: DeepPartial<Config>, body: (t: TestServer, metricsUrl: string) => Promise<void>): Promise<void> {
  const t = await startTestServer(overrides)
  try {
    await body(t, t.url.replace('ws://', 'http://') + 'metrics')
  } finally {
    await t.close()
  }
}

test('40,000 rate-limited frames with unique types leave /metrics small', async () => {
  const rules = { messages: { subject: 'connection', types: ['*'], capacity: 1, refillPerSecond: 0.001 } }
  await withServer({ ratelimit: { enabled: true, rules: rules as never } }, async (t, url) => {
    const before = (await httpGet(url)).body.length
    // Past its one-message budget every frame is refused before its type is looked at: the audit's path.
    const c = await t.connect()
    const batch = 50
    for (let sent = 0; sent < 40_000; sent += batch) {
      const replies = []
      for (let i = 0; i < batch; i++) replies.push(c.request(`fuzz:type-${sent + i}`))
      for (const reply of await Promise.all(replies)) assert.is(reply.ok, false)
    }
    const after = (await httpGet(url)).body
    assert.not.match(after, 'fuzz:type-', 'no client-chosen type is a label')
    assert.match(after, /hafnium_ratelimit_rejections_total\{type="unknown"\} [1-9]/)
    assert.ok(after.length - before < 4096, `/metrics grew by ${after.length - before} bytes (was ${before})`)
  })
})

test('by default only loopback peers without forwarding headers may read it', async () => {
  await withServer({}, async (_t, url) => {
    const direct = await httpGet(url)
    assert.is(direct.status, 200)
    assert.match(direct.body, '# TYPE hafnium_connections_open gauge')
    const viaProxy = await httpGet(url, { headers: { 'X-Forwarded-For': '203.0.113.9' } })
    assert.is(viaProxy.status, 403, 'a proxy on this host forwarding a request from elsewhere')
    assert.not.match(viaProxy.body, 'hafnium_')
  })
})

test('behind a trusted proxy the client address decides; metrics.allow widens loopback', async () => {
  await withServer({ server: { trustProxy: ['127.0.0.1/32'] } }, async (_t, url) => {
    assert.is((await httpGet(url, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 403)
    assert.is((await httpGet(url, { headers: { 'X-Forwarded-For': '127.0.0.1' } })).status, 403, 'forwarded, even from loopback')
    assert.is((await httpGet(url)).status, 200)
  })
  await withServer({ server: { trustProxy: ['127.0.0.1/32'] }, metrics: { allow: ['203.0.113.0/24'] } }, async (_t, url) => {
    assert.is((await httpGet(url, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 200, 'an allowed network')
    assert.is((await httpGet(url, { headers: { 'X-Forwarded-For': '198.51.100.9' } })).status, 403)
  })
  await withServer({ metrics: { allow: ['203.0.113.0/24'] } }, async (_t, url) => {
    assert.is((await httpGet(url, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 403, 'a header from an untrusted peer proves nothing')
  })
})

test('metrics.token: every request, loopback too, must carry it as a bearer token', async () => {
  const token = 'scrape-token-0123456789'
  await withServer({ metrics: { token } }, async (_t, url) => {
    const none = await httpGet(url)
    assert.is(none.status, 401)
    assert.is(none.headers['www-authenticate'], 'Bearer')
    assert.not.match(none.body, 'hafnium_')
    assert.is((await httpGet(url, { headers: { Authorization: `Bearer ${token}x` } })).status, 401)
    assert.is((await httpGet(url, { headers: { Authorization: `Bearer ${token.slice(0, -1)}` } })).status, 401)
    assert.is((await httpGet(url, { headers: { Authorization: token } })).status, 401, 'not as a bearer token')
    const ok = await httpGet(url, { headers: { Authorization: `Bearer ${token}` } })
    assert.is(ok.status, 200)
    assert.match(ok.body, 'hafnium_connections_open')
    assert.is((await httpGet(url, { headers: { 'X-Forwarded-For': '203.0.113.9', Authorization: `Bearer ${token}` } })).status, 403, 'a token does not replace the address check')
  })
})

test('README > Operations documents every metric, and nothing else', async () => {
  await withServer({}, async (_t, url) => {
    const served = new Set([...(await httpGet(url)).body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const section = /^## Operations\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1]
    assert.ok(section, 'README has an Operations section')
    const documented = new Set([...section.matchAll(/^\| `(hafnium_[a-z_]+|process_[a-z_]+|nodejs_[a-z_]+)` \|/gm)].map((m) => m[1]!))
    const ours = [...served].filter((name) => name.startsWith('hafnium_'))
    assert.equal(ours.filter((name) => !documented.has(name)), [], 'served but not documented')
    assert.equal([...documented].filter((name) => !served.has(name)), [], 'documented but not served')
  })
})

test.run()
