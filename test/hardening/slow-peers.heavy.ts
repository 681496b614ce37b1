// Heavy tier (npm run test:hardening): 1,000 slow-header connections and 1,000 silent upgraded sockets
// at once, with the shipped timeouts. Each is dropped within its timeout, a normal client keeps
// connecting meanwhile, and the server's file descriptors come back to their baseline.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect as tcpConnect, type Socket } from 'node:net'
import { startTestServer, type TestServer } from '../support/server.ts'
import { deadline, fdCount, percentile, rawUpgrade, report, startCanary, until } from './support.ts'

const COUNT = 1000
const test = suite<{ t: TestServer }>('hardening (heavy): slow headers and silent sockets')
test.before(async (ctx) => {
  // Shipped transport settings; only the per-IP caps of the test defaults are restored to shipped values too.
  ctx.t = await startTestServer({ server: { authTimeoutMs: 10_000 }, limits: { maxAnonymousPerIP: 50, maxConnectionsPerIP: 200 } })
})
test.after(async (ctx) => ctx.t.close())

/** A client that sends the request line and then one header byte per second, forever. */
function dribbler(port: number, localAddress: string): Promise<{ lifetime: Promise<{ ms: number; status: string }> }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port, localAddress })
    socket.once('error', reject)
    socket.once('connect', () => {
      const started = performance.now()
      let response = ''
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nX-Slow: ')
      const timer = setInterval(() => socket.write('a'), 1000)
      socket.on('data', (chunk) => (response += chunk.toString('latin1')))
      socket.on('error', () => {})
      const lifetime = new Promise<{ ms: number; status: string }>((done) =>
        socket.once('close', () => {
          clearInterval(timer)
          done({ ms: performance.now() - started, status: response.split('\r\n')[0] ?? '' })
        }),
      )
      resolve({ lifetime })
    })
  })
}

test(`${COUNT} header dribblers and ${COUNT} silent upgraded sockets are dropped in time; fds return to baseline`, async ({ t }) => {
  const { headersTimeoutMs } = t.config.server
  const { authTimeoutMs, closeTimeoutMs } = t.config.server
  const canaryClient = await t.connect()
  assert.ok((await canaryClient.request('profile:register', { username: 'canary', password: 'balcony-scene-2', loginOnSuccess: true })).ok)
  const baseline = fdCount()
  const canary = startCanary(canaryClient)

  // A normal client connects (and pings) every 100 ms while the attack runs.
  const connectTimes: number[] = []
  let connecting = true
  const legit = (async () => {
    while (connecting) {
      const started = performance.now()
      const c = await t.connect({ localAddress: '127.0.0.200' })
      connectTimes.push(performance.now() - started)
      await c.request('server:ping')
      c.terminate()
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })()

  const dribblers = await Promise.all(Array.from({ length: COUNT }, (_, i) => dribbler(t.server.port, `127.0.3.${1 + (i % 50)}`)))
  // 40 silent sockets per address stays under the shipped 50-anonymous cap.
  const silent: Socket[] = await Promise.all(Array.from({ length: COUNT }, (_, i) => rawUpgrade(t.server.port, { localAddress: `127.0.4.${1 + (i % 25)}` })))
  const silentLifetimes = silent.map((s) => {
    const started = performance.now()
    s.on('data', () => {}) // reads (so it sees the close frame) but never answers
    s.on('error', () => {})
    return new Promise<number>((done) => s.once('close', () => done(performance.now() - started)))
  })

  const dribbled = await deadline(Promise.all(dribblers.map((d) => d.lifetime)), 60_000, 'dribblers dropped')
  const silenced = await deadline(Promise.all(silentLifetimes), 60_000, 'silent sockets dropped')
  connecting = false
  await legit
  const rtt = await canary.stop()
  await until(() => fdCount() <= baseline, `fds back to ${baseline}`, 20_000, 100)

  const dribbleMax = Math.max(...dribbled.map((d) => d.ms))
  const silentMax = Math.max(...silenced)
  const statuses = [...new Set(dribbled.map((d) => d.status))]
  report('slow peers', {
    dribblerMaxSeconds: dribbleMax / 1000,
    dribblerStatus: statuses.join('|'),
    silentMaxSeconds: silentMax / 1000,
    legitConnects: connectTimes.length,
    legitConnectP99ms: percentile(connectTimes, 99),
    fdBaseline: baseline,
    fdAfter: fdCount(),
    canarySamples: rtt.count,
    canaryP99ms: rtt.p99,
    canaryMaxMs: rtt.max,
  })
  assert.equal(statuses, ['HTTP/1.1 408 Request Timeout'])
  // Node checks the header deadline once per second (connectionsCheckingInterval): timeout + 1 s + slack.
  assert.ok(dribbleMax <= headersTimeoutMs + 2000, `dribbler lived ${dribbleMax} ms`)
  assert.ok(silentMax <= authTimeoutMs + closeTimeoutMs + 1000, `silent socket lived ${silentMax} ms`)
  assert.ok(percentile(connectTimes, 99) < 200, 'legit connect p99 < 200 ms')
  assert.is(rtt.failures, 0)
})

test.run()
