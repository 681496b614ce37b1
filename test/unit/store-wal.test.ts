// The WAL stays at SQLite's auto-checkpoint size (1,000 pages) under the hot single-statement writes:
// an UPDATE … RETURNING read with get() commits on reset, where SQLite skips the auto-checkpoint, and
// 2,000 re-auths grew the WAL to ~3,000 pages (found by the soak, npm run soak).
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { openStore, type Store } from '../../src/store/index.ts'

const autoCheckpointPages = 1000
const test = suite<{ dir: string; store: Store; path: string }>('store: WAL bounded')
test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-wal-'))
  ctx.path = join(ctx.dir, 'wal.db')
  ctx.store = openStore(ctx.path, { synchronous: 'normal', busyTimeoutMs: 0 })
  await ctx.store.accounts.create({ id: 'acc1', username: 'juliet', userID: '@juliet@localhost', passwordHash: null, status: 'active', profile: {}, thirdPIDs: [], now: 0 })
})
test.after((ctx) => {
  ctx.store.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

const walPages = (path: string) => statSync(`${path}-wal`).size / 4096

test('3,000 token rotations (devices.present), last-seen batches and 3,000 failed logins (recordLoginFailure) keep the WAL at ~1,000 pages', async ({ store, path }) => {
  const hashOf = (i: number) => Buffer.alloc(32, 0).fill(i.toString(16).padStart(8, '0'), 0, 8)
  const device = await store.devices.create({ accountID: 'acc1', tokenHash: hashOf(0), name: 'phone', pushToken: null, ip: '10.0.0.1', now: 0 })
  for (let i = 1; i <= 3000; i++) assert.is(await store.devices.present(device.id, hashOf(i - 1), hashOf(i), i, 30_000), 'ok')
  for (let i = 1; i <= 3000; i++) await store.devices.touchMany([{ deviceID: device.id, at: i, ip: '10.0.0.1' }])
  assert.ok(walPages(path) <= autoCheckpointPages + 10, `WAL ${walPages(path)} pages after re-auths`)
  for (let i = 1; i <= 3000; i++) assert.is((await store.accounts.recordLoginFailure('acc1', i, () => i)).failures, i)
  assert.ok(walPages(path) <= autoCheckpointPages + 10, `WAL ${walPages(path)} pages after failed logins`)
})

test.run()
