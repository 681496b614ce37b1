// Background work once per cluster (issue 17): three outbox senders on one database send each message once.
// On SQLite, three handles of one file; with HAFNIUM_TEST_ENGINE=postgres, three stores (three pools,
// as three nodes hold them) on one PostgreSQL database.
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createDeliverySender } from '../../src/delivery/sender.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import type { OutgoingMessage } from '../../src/store/outbox.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { createTestDatabase, sqliteOnly, testEngine, type TestDatabase } from '../support/engine.ts'
import { manualClock } from '../support/server.ts'
import { startSmtpSink } from '../support/smtp.ts'
import { capturedLogger, deliveryConfig, useTempDir } from './support.ts'

const test = suite<{ dir: string }>('outbox claims')
useTempDir(test, 'hafnium-claims-')

const message = (i: number): OutgoingMessage => ({ channel: 'email', to: `user${i}@example.org`, purpose: 'signup', code: String(100000 + i) })

/** Three stores on one database, as three nodes (or the server and two admin handles on SQLite) hold it. */
async function threeStores(path: string, database: { synchronous: 'normal'; busyTimeoutMs: number }): Promise<{ stores: Store[]; close(): Promise<void> }> {
  if (testEngine === 'postgres') {
    const db: TestDatabase = await createTestDatabase()
    const stores: Store[] = []
    for (let i = 0; i < 3; i++) stores.push(await openPostgresStore(db.url, { poolSize: 2, keyPath: path + '.key' }))
    return {
      stores,
      async close() {
        for (const s of stores) await s.close()
        await db.drop()
      },
    }
  }
  // The first handle is the server's (it holds the file's lock); the others open it as the admin CLI does.
  const stores: Store[] = [openStore(path, database)]
  for (let i = 0; i < 2; i++) stores.push(openStore(path, { ...database, lock: false }))
  return { stores, close: async () => stores.forEach((s) => void s.close()) }
}

test('three senders on one database deliver each of 60 messages exactly once', async ({ dir }) => {
  const sink = await startSmtpSink({ delayMs: 5 }) // a little slow, as real ones are
  const path = join(dir, 'three.db')
  const config = deliveryConfig(path, {
    email: { transport: 'smtp', host: '127.0.0.1', port: sink.port, secure: false, from: 'Hafnium <noreply@example.org>' },
    timeoutMs: 5000,
    pollMs: 20,
  })
  const { stores, close } = await threeStores(path, { synchronous: 'normal', busyTimeoutMs: 2000 })
  const logs = stores.map(() => capturedLogger())
  const clock = { now: Date.now }
  for (let i = 0; i < 60; i++) await stores[0]!.outbox.enqueue(message(i), clock.now())
  const senders = stores.map((store, i) => createDeliverySender({ store, config, clock, log: logs[i]!.log }))
  try {
    await Promise.all(senders.map((s) => s.drainOnce()))
    await sink.until(60, 20_000)
    // Anything sent twice would arrive late: give the senders a few more rounds.
    await Promise.all(senders.map((s) => s.drainOnce()))
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.is(sink.mails.length, 60, 'no message sent twice')
    for (let i = 0; i < 60; i++) assert.is(sink.mails.filter((mail) => mail.to.includes(`user${i}@example.org`)).length, 1, `user${i} got exactly one mail`)
    assert.is(await stores[0]!.outbox.pending(), 0)
    const perSender = logs.map((l) => l.messages().filter((m) => m.msg === 'delivered').length)
    assert.is(perSender.reduce((a, b) => a + b, 0), 60)
    console.log(`  60 messages over 3 senders (${testEngine}): ${perSender.join(' + ')}`)
    assert.ok(perSender.filter((n) => n > 0).length >= 2, `the work was shared: ${perSender.join(', ')}`)
  } finally {
    await Promise.all(senders.map((s) => s.close()))
    await close()
    await sink.close()
  }
})

sqliteOnly(test, "a claim skips rows another handle's claim holds; a dead sender's rows are due again when its lease ends", async ({ dir }) => {
  const path = join(dir, 'lease.db')
  const a = openStore(path, { synchronous: 'normal', busyTimeoutMs: 200 })
  const b = openStore(path, { synchronous: 'normal', busyTimeoutMs: 200, lock: false })
  const clock = manualClock()
  try {
    for (let i = 0; i < 3; i++) a.outbox.enqueue(message(i), clock.now())
    const first = await a.outbox.claim(clock.now(), 2, 60_000)
    assert.equal(first.map((m) => m.message.to), ['user0@example.org', 'user1@example.org'], 'oldest first')
    const claim = first[0]!.claim!
    const second = await b.outbox.claim(clock.now(), 10, 120_000)
    assert.equal(second.map((m) => m.message.to), ['user2@example.org'], 'the other handle skips the held rows')
    assert.equal(await b.outbox.claim(clock.now(), 10, 60_000), [], 'nothing left to claim')
    // The first sender "dies" holding its claim: nothing is due until its lease ends.
    clock.advance(59_999)
    assert.equal(await b.outbox.claim(clock.now(), 10, 60_000), [], 'still held one ms before the lease ends')
    clock.advance(1)
    const retaken = await b.outbox.claim(clock.now(), 10, 60_000)
    assert.equal(retaken.map((m) => m.message.to), ['user0@example.org', 'user1@example.org'], 'due again when the lease ends')
    // The dead sender coming back cannot finish or reschedule what is now another's.
    assert.is(await a.outbox.delivered(first[0]!.id, claim), false)
    await a.outbox.failed(first[1]!.id, 'late', clock.now() + 1000, claim)
    assert.is(await b.outbox.delivered(retaken[0]!.id, retaken[0]!.claim), true)
    assert.is(await b.outbox.delivered(retaken[1]!.id, retaken[1]!.claim), true, 'the stale failed() changed nothing')
    // release gives back what a claim holds, at once.
    await b.outbox.release(second[0]!.claim!)
    assert.equal((await a.outbox.claim(clock.now(), 10, 60_000)).map((m) => m.message.to), ['user2@example.org'])
  } finally {
    b.close()
    a.close()
  }
})

sqliteOnly(test, "the server that takes the file's lock voids a killed run's claims: they are due at once", async ({ dir }) => {
  const path = join(dir, 'restart.db')
  const clock = manualClock()
  const first = openStore(path, { synchronous: 'normal', busyTimeoutMs: 200 })
  first.outbox.enqueue(message(0), clock.now())
  assert.is((await first.outbox.claim(clock.now(), 10, 60_000)).length, 1)
  first.close()
  const second = openStore(path, { synchronous: 'normal', busyTimeoutMs: 200 })
  try {
    assert.equal((await second.outbox.claim(clock.now(), 10, 60_000)).map((m) => m.message.to), ['user0@example.org'])
  } finally {
    second.close()
  }
})

test.run()
