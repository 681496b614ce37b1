// Storage faults: a full database answers storage_busy, keeps earlier data, and writes resume when space returns.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { startTestServer } from '../support/server.ts'

const bigMisc = () => Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, `${i}`.padEnd(1000, 'x')]))

test('SQLITE_FULL answers storage_busy (retryable), earlier data stays, and writes resume once space is freed', async () => {
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

test.run()
