// Heavy tier: a device that stops reading while its account logs in again and again (each login sends
// it a device:new_login event) is terminated once its unread output passes limits.maxBufferedBytes
// (shipped 1 MiB); the process's RSS grows by less than 50 MiB meanwhile.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'
import { deadline, report, startCanary } from './support.ts'

const password = 'balcony-scene-2'
// A full collection before the baseline, so the figure is growth rather than garbage not yet collected.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const test = suite<{ t: TestServer }>('hardening (heavy): a non-reading peer flooded with events')
test.before(async (ctx) => {
  ctx.t = await startTestServer({ limits: { maxDevicesPerAccount: 100_000 } })
})
test.after(async (ctx) => ctx.t.close())

test('the paused device is terminated; RSS growth < 50 MiB', async ({ t }) => {
  const first = await t.connect()
  assert.ok((await first.request('profile:register', { username: 'mercutio', password, loginOnSuccess: true })).ok)
  const slow = await t.connect({ localAddress: '127.0.8.1' })
  assert.ok((await slow.request('profile:login', { username: 'mercutio', password })).ok)
  const canaryClient = await t.connect()
  const onServer = () => [...t.server.connections].some((c) => c.ip === '127.0.8.1')
  const loginers = await Promise.all(Array.from({ length: 8 }, () => t.connect()))
  let logins = 0
  const flood = (stop: () => boolean) =>
    Promise.all(
      loginers.map(async (c) => {
        while (!stop()) {
          const reply = await c.request('profile:login', { username: 'mercutio', password, deviceName: 'flood '.padEnd(128, 'x') })
          assert.ok(reply.ok, JSON.stringify(reply))
          logins++
          // Every login also notifies the other clients here (test-side memory, not the server's): drop those.
          for (const other of [first, canaryClient, ...loginers]) other.events.splice(0)
        }
      }),
    )
  // Warm-up while the device still reads: the heap, SQLite's cache and argon2's buffers reach their working size.
  await flood(() => logins >= 4000)
  logins = 0
  slow.ws.pause()
  const canary = startCanary(canaryClient)
  gc()
  const rssBefore = process.memoryUsage().rss
  let rssPeak = rssBefore
  let bufferedPeak = 0
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
    for (const c of t.server.connections) if (c.ip === '127.0.8.1') bufferedPeak = Math.max(bufferedPeak, c.socket.bufferedAmount)
  }, 20)
  const started = performance.now()
  await deadline(flood(() => !onServer() || logins >= 200_000), 240_000, 'slow device terminated')
  clearInterval(sampler)
  const seconds = (performance.now() - started) / 1000
  const rtt = await canary.stop()
  const growthMiB = (rssPeak - rssBefore) / 2 ** 20
  report('event flood on a paused reader', { logins, seconds, terminated: !onServer(), bufferedPeakKiB: bufferedPeak / 1024, rssGrowthMiB: growthMiB, canarySamples: rtt.count, canaryP99ms: rtt.p99 })
  assert.not.ok(onServer(), 'terminated')
  assert.ok(bufferedPeak <= t.config.limits.maxBufferedBytes + 64 * 1024, `${bufferedPeak} bytes buffered`)
  assert.ok(growthMiB < 50, `RSS grew ${growthMiB} MiB`)
  slow.ws.resume()
  assert.is((await deadline(slow.closed, 10_000, 'client sees the end')).code, 1006)
  assert.ok((await first.request('server:ping')).ok)
})

test.run()
