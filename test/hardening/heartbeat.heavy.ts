// Heavy tier: 1,000 clients that never answer pings (ws autoPong off) are all dropped within 2.5× the
// heartbeat interval (a peer that missed the previous ping is terminated at the next one).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket from 'ws'
import { startTestServer, type TestServer } from '../support/server.ts'
import { deadline, report, startCanary, until } from './support.ts'

const COUNT = 1000
const heartbeatMs = 1000
const test = suite<{ t: TestServer }>('hardening (heavy): peers that stop answering pings')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ server: { heartbeatMs } })
})
test.after(async (ctx) => ctx.t.close())

test(`${COUNT} mute clients are dropped within 2.5 × server.heartbeatMs`, async ({ t }) => {
  const canaryClient = await t.connect()
  const canary = startCanary(canaryClient)
  type Lifetime = { ms: number; code: number }
  // Each entry resolves once its client is open, with a promise of how long it then lived.
  const opened = await Promise.all(
    Array.from(
      { length: COUNT },
      (_, i) =>
        new Promise<{ lifetime: Promise<Lifetime> }>((resolve, reject) => {
          const ws = new WebSocket(t.url, { autoPong: false, localAddress: `127.0.7.${1 + (i % 50)}` })
          ws.once('error', reject)
          ws.once('open', () => {
            const at = performance.now()
            resolve({ lifetime: new Promise((done) => ws.once('close', (code) => done({ ms: performance.now() - at, code }))) })
          })
        }),
    ),
  )
  const closed = await deadline(Promise.all(opened.map((o) => o.lifetime)), 30_000, 'mute clients dropped')
  await until(() => t.server.connections.size === 1, 'only the canary left')
  const rtt = await canary.stop()
  const max = Math.max(...closed.map((c) => c.ms))
  report('mute peers', { clients: COUNT, heartbeatMs, maxLifetimeMs: max, codes: [...new Set(closed.map((c) => c.code))].join('|'), canarySamples: rtt.count, canaryP99ms: rtt.p99 })
  assert.ok(max <= 2.5 * heartbeatMs, `a mute client lived ${max} ms`)
  assert.equal([...new Set(closed.map((c) => c.code))], [1006], 'terminated')
  assert.ok(canaryClient.ws.readyState === canaryClient.ws.OPEN, 'the canary answers pings and stays')
})

test.run()
