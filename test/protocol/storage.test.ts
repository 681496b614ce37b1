// Storage faults: a full database answers storage_busy, keeps earlier data, and writes resume when space returns.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { until } from '../hardening/support.ts'
import { sqliteOnly } from '../support/engine.ts'

const bigMisc = () => Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, `${i}`.padEnd(1000, 'x')]))

sqliteOnly(test, 'SQLITE_FULL answers storage_busy (retryable), earlier data stays, and writes resume once space is freed', async () => {
  const t = await startTestServer({ database: { maxBytes: 512 * 1024 } })
  const c = await t.connect()
  const first = await c.request('profile:register', { username: 'first', password: 'quiet-harbour-41', loginOnSuccess: true, profile: { misc: bigMisc() } })
  assert.is(first.ok, true, JSON.stringify(first.payload))

  let full: Awaited<ReturnType<typeof c.request>> | undefined
  let created = 0
  for (let i = 0; i < 100 && !full; i++) {
    const reply = await c.request('profile:register', { username: `filler${i}`, password: 'quiet-harbour-42', profile: { misc: bigMisc() } })
    if (reply.ok) created++
    else full = reply
  }
  assert.ok(full, 'the database never filled up')
  assert.equal(full.payload, { errID: 'storage_busy', errText: errors.storage_busy, errPayload: { retryAfter: 1000 } })
  assert.ok(created > 0)

  // The connection and earlier data are intact: a read and a login that writes nothing new... and reads work.
  assert.is((await c.request('server:ping')).ok, true)
  const profile = await c.request('profile:get', {})
  assert.is(profile.ok, true)
  assert.is(profile.payload.username, 'first')
  const check = await c.request('profile:check_username', { username: `filler${created - 1}` })
  assert.equal(check.payload, { available: false })

  // Free space: shrinking the first account's profile releases its overflow pages to SQLite's free list.
  const freed = await c.request('profile:update', { misc: null })
  assert.is(freed.ok, true, JSON.stringify(freed.payload))
  const after = await c.request('profile:register', { username: 'after-space-returns', password: 'quiet-harbour-43' })
  assert.is(after.ok, true, JSON.stringify(after.payload))

  const metrics = await (await fetch(t.url.replace('ws://', 'http://') + 'metrics')).text()
  assert.match(metrics, /hafnium_messages_total\{type="profile:register",outcome="storage_busy"\} 1/)
  await t.close()
})

sqliteOnly(test, 'a background write that hits the full database (the rate-limit flush) starts the WAL relief too', async () => {
  // lookup_ip refills slowly here: with the shipped 1/s a bucket is full again a second after its one
  // request, and the flush deletes its row instead of writing it — on a loaded machine the rows then
  // never add up to a new page and the relief never starts.
  const rules = { lookup_ip: { refillPerSecond: 0.001 } }
  const t = await startTestServer({ database: { maxBytes: 256 * 1024 }, ratelimit: { enabled: true, flushIntervalMs: 20, rules: rules as never } })
  try {
    await backgroundWriteOnFullDisk(t)
  } finally {
    await t.close()
  }
})

async function backgroundWriteOnFullDisk(t: TestServer) {
  // Filled through the store, not through requests, so no request's refusal starts the relief.
  let n = 0
  const fill = (profile: object) =>
    t.server.store.accounts.create({
      id: `fill${++n}`,
      username: `fill${n}`,
      userID: `@fill${n}@localhost`,
      passwordHash: null,
      status: 'active',
      profile,
      thirdPIDs: [],
      now: 0,
    })
  // Large rows first, then small ones, until not even a small row fits: the flush's bucket row must not either.
  for (const profile of [{ misc: bigMisc() }, {}]) {
    let full: unknown
    for (let i = 0; i < 5000 && !full; i++) await fill(profile).catch((error: unknown) => (full = error))
    assert.is((full as { code?: string } | undefined)?.code, 'SQLITE_FULL')
  }
  let relief = 0
  const store = t.server.store as { onDiskFull(): void }
  const original = store.onDiskFull
  store.onDiskFull = () => {
    relief++
    original()
  }
  // Reads charged to the lookup_ip rule from 150 addresses leave buckets for the next flush to write:
  // more rows than the free room in rate_buckets' pages, so the flush needs a new page.
  for (let i = 2; i < 152; i++) {
    const c = await t.connect({ localAddress: `127.0.0.${i}` })
    assert.is((await c.request('profile:check_username', { username: 'someone' })).ok, true)
    c.ws.terminate()
  }
  await until(() => relief > 0, 'the flush hit the full database and started the relief')
}

test.run()
