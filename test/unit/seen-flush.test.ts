// Last-seen flushes one after the other: a flush returns only once every time taken before it is stored.
// The guest sweep flushes and then reads last-seen times from the store; when the periodic flush had
// taken a guest's time and was still writing it (a slow PostgreSQL), the sweep's own flush found nothing,
// returned at once, and the guest seen a moment ago was deleted as idle.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createSeenTracker, flushSeen, sweepExpiredDevices, type LifetimeDeps } from '../../src/accounts/session-lifetime.ts'
import type { SeenEntry } from '../../src/store/device-lifetime.ts'
import type { Store } from '../../src/store/index.ts'

/**
 * A store whose writes wait until released, logging when each starts and ends. touchMany of nothing
 * returns at once, as both stores' do.
 */
function slowStore() {
  const log: string[] = []
  const releases: (() => void)[] = []
  const hold = (op: string, entries: readonly SeenEntry[]) => {
    const what = `${op} [${entries.map((e) => e.deviceID).join()}]`
    log.push(`${what} started`)
    return new Promise<void>((resolve) =>
      releases.push(() => {
        log.push(`${what} stored`)
        resolve()
      }),
    )
  }
  const touchMany = async (entries: readonly SeenEntry[]) => {
    if (entries.length > 0) await hold('touch', entries)
  }
  const expire = async (entries: readonly SeenEntry[]) => (await hold('expire', entries), [])
  const store = { devices: { touchMany, expire } } as unknown as Store
  return { store, log, releaseNext: () => releases.shift()!() }
}

const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])

test('a flush started while another is writing returns only after that write', async () => {
  const seen = createSeenTracker()
  const { store, log, releaseNext } = slowStore()
  seen.record('guest-device', '127.0.0.1', 1000)
  const periodic = flushSeen({ store, seen })
  await new Promise((resolve) => setImmediate(resolve))
  const sweeps = flushSeen({ store, seen })
  assert.is(await settledWithin(sweeps, 50), false, "the sweep's flush returned while the periodic flush's time was not yet stored")
  releaseNext()
  await periodic
  assert.is(await settledWithin(sweeps, 1000), true, "the sweep's flush did not return within 1 s of the periodic one's")
  assert.equal(log, ['touch [guest-device] started', 'touch [guest-device] stored'])
})

test('a failed flush gives its entries back and the next one writes them', async () => {
  const seen = createSeenTracker()
  const written: string[][] = []
  let fail = true
  const store = {
    devices: {
      touchMany: async (entries: readonly SeenEntry[]) => {
        if (fail) throw new Error('disk full')
        written.push(entries.map((e) => e.deviceID))
      },
    },
  } as unknown as Store
  seen.record('d1', '127.0.0.1', 1000)
  await flushSeen({ store, seen }).then(
    () => assert.unreachable('the failing flush resolved'),
    (error: Error) => assert.is(error.message, 'disk full'),
  )
  fail = false
  await flushSeen({ store, seen })
  assert.equal(written, [['d1']])
})

test('the device expiry sweep waits for a flush in flight too', async () => {
  const seen = createSeenTracker()
  const { store, log, releaseNext } = slowStore()
  seen.record('d1', '127.0.0.1', 1000)
  const flush = flushSeen({ store, seen })
  await new Promise((resolve) => setImmediate(resolve))
  const deps = { store, seen, config: { sessions: { idleTimeout: 60, maxAge: 0 } }, clock: { now: () => 2000 } } as unknown as LifetimeDeps
  const sweep = sweepExpiredDevices(deps)
  await new Promise((resolve) => setTimeout(resolve, 20))
  releaseNext()
  await flush
  await new Promise((resolve) => setTimeout(resolve, 20))
  releaseNext()
  assert.is(await settledWithin(sweep, 1000), true, 'the sweep did not finish within 1 s of the flush')
  assert.equal(log, ['touch [d1] started', 'touch [d1] stored', 'expire [] started', 'expire [] stored'], 'the expiry ran while a flush was still writing')
})

test.run()
