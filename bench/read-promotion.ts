// What a cold profile read leaves in V8's old space: its cache entry survives the young generation, and a
// scavenge's pause is mostly the copying of such survivors (README > Performance, the tail of mixed_half).
// `node --expose-gc --single-threaded-gc --max-semi-space-size=8 --import tsx bench/read-promotion.ts`:
// builds the bench's fixture, warms the cache with 20,000 cold reads, then reads 30,000 other accounts once
// each and prints the old space's growth per read (below the cache's bound: nothing evicted yet).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import v8 from 'node:v8'
import { buildFixture } from './fixture.ts'
import { openStore } from '../src/store/index.ts'

const count = 100_000
const dir = mkdtempSync(join(tmpdir(), 'hafnium-read-promotion-'))
try {
  const fixture = await buildFixture(join(dir, 'fixture.db'), count)
  const store = openStore(fixture.path, { synchronous: 'normal', busyTimeoutMs: 1000, lock: false })
  const ids = Array.from({ length: count }, (_, i) => fixture.userID(i)).sort(() => Math.random() - 0.5)
  const oldSpace = () =>
    v8.getHeapSpaceStatistics().filter((s) => !s.space_name.startsWith('new_')).reduce((sum, s) => sum + s.space_used_size, 0)
  for (let i = 0; i < 20_000; i++) await store.accounts.byUserID(ids[i]!)
  ;(globalThis as { gc?: () => void }).gc?.()
  const before = oldSpace()
  const reads = 30_000
  for (let i = 20_000; i < 20_000 + reads; i++) await store.accounts.byUserID(ids[i]!)
  console.log(JSON.stringify({ oldSpaceBytesPerColdRead: Math.round((oldSpace() - before) / reads) }))
  store.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
