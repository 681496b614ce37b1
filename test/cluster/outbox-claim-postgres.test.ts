// The PostgreSQL outbox's claims (store/postgres/outbox.ts) on a real PostgreSQL: three stores on three
// connections claiming at once take every due row exactly once (FOR UPDATE SKIP LOCKED); a lapsed lease
// makes rows due again and the old claim can no longer touch them.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import pg from 'pg'
import type { Store } from '../../src/store/index.ts'
import type { OutgoingMessage } from '../../src/store/outbox.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { postgresUnavailable, startTestPostgres, type TestPostgres } from '../support/engine.ts'

interface Context {
  pg: TestPostgres
  dir: string
  schema: string
  stores: Store[]
}
const test = suite<Context>('outbox claims on PostgreSQL')
const unavailable = postgresUnavailable()

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

test.before(async (ctx) => {
  ctx.stores = []
  if (unavailable) return
  ctx.pg = await startTestPostgres()
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-claims-pg-'))
  // A schema of its own, so a shared HAFNIUM_TEST_POSTGRES_URL is left as it was.
  ctx.schema = 'hafnium_claims_' + randomBytes(6).toString('hex')
  await admin(ctx.pg.url, `CREATE SCHEMA ${ctx.schema}`)
  const url = new URL(ctx.pg.url)
  url.searchParams.set('options', `-c search_path=${ctx.schema}`)
  // One connection each: three claimers on three connections, as three nodes' senders.
  for (let i = 0; i < 3; i++) ctx.stores.push(await openPostgresStore(url.toString(), { poolSize: 1, keyPath: join(ctx.dir, 'outbox.key') }))
})
test.after(async (ctx) => {
  for (const store of ctx.stores) await store.close()
  if (ctx.schema) await admin(ctx.pg.url, `DROP SCHEMA ${ctx.schema} CASCADE`)
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true })
  await ctx.pg?.stop()
})

const message = (i: number): OutgoingMessage => ({ channel: 'email', to: `user${i}@example.org`, purpose: 'signup', code: String(100000 + i) })

test('three stores on three connections claiming at once take each of 300 due rows exactly once', async (ctx) => {
  if (unavailable) return console.log(`  skipped: ${unavailable}`)
  const now = 1_000_000
  for (let i = 0; i < 300; i++) await ctx.stores[0]!.outbox.enqueue(message(i), now)
  const taken = await Promise.all(
    ctx.stores.map(async (store) => {
      const mine: number[] = []
      for (;;) {
        const rows = await store.outbox.claim(now, 7, 60_000)
        if (rows.length === 0) return mine
        assert.equal(rows.map((r) => r.id), [...rows.map((r) => r.id)].sort((a, b) => a - b), 'oldest first')
        mine.push(...rows.map((r) => r.id))
      }
    }),
  )
  const all = taken.flat()
  console.log(`  300 rows over 3 claimers: ${taken.map((t) => t.length).join(' + ')}`)
  assert.is(all.length, 300, 'no row taken twice')
  assert.is(new Set(all).size, 300, 'every row taken')
  assert.ok(taken.filter((t) => t.length > 0).length >= 2, 'the claimers ran side by side')
  for (const id of all) await ctx.stores[0]!.outbox.delivered(id)
  assert.is(await ctx.stores[0]!.outbox.pending(), 0)
})

test('a lapsed lease makes rows due again; the old claim can no longer deliver or reschedule them; release gives them back', async (ctx) => {
  if (unavailable) return
  const [a, b] = ctx.stores as [Store, Store]
  const now = 2_000_000
  await a.outbox.enqueue(message(1), now)
  await a.outbox.enqueue(message(2), now)
  const first = await a.outbox.claim(now, 10, 1000)
  assert.equal(first.map((m) => m.message.to), ['user1@example.org', 'user2@example.org'])
  assert.equal(await b.outbox.claim(now + 999, 10, 1000), [], 'held until the lease ends')
  const again = await b.outbox.claim(now + 1000, 10, 1000)
  assert.equal(again.map((m) => m.id), first.map((m) => m.id), 'due again when the lease ends')
  assert.is(await a.outbox.delivered(first[0]!.id, first[0]!.claim), false, 'the dead claim lost its rows')
  await a.outbox.failed(first[1]!.id, 'late', now + 5000, first[1]!.claim)
  assert.is(await b.outbox.delivered(again[0]!.id, again[0]!.claim), true)
  await b.outbox.release(again[0]!.claim!)
  const last = await a.outbox.claim(now + 1000, 10, 1000)
  assert.equal(last.map((m) => [m.id, m.attempts]), [[again[1]!.id, 0]], 'released at once; the stale failed() changed nothing')
  assert.is(await a.outbox.delivered(last[0]!.id, last[0]!.claim), true)
})

test.run()
