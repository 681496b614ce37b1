// What one cold profile read costs below the protocol, on the bench's fixture: the floor under `mixed`.
// `node --import tsx bench/read-ceiling.ts [accounts]`: builds the fixture in a temporary directory, then
// measures CPU µs per look-up by user ID (the store's own path: the statement with its 3PIDs, JSON.parse,
// the cache's insert), every one a miss (each account once, in random order), a hit for comparison, and the
// floor of any cold look-up by user ID from Node: better-sqlite3 running `SELECT id ... WHERE user_id = ?`
// (the index search alone) on the same file with the store's page cache.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildFixture } from './fixture.ts'
import { openStore } from '../src/store/index.ts'
import Database from '../src/store/driver.ts'

const count = Number(process.argv[2] ?? 100_000)
const dir = mkdtempSync(join(tmpdir(), 'hafnium-read-ceiling-'))
try {
  const fixture = await buildFixture(join(dir, 'fixture.db'), count)
  const store = openStore(fixture.path, { synchronous: 'normal', busyTimeoutMs: 1000, lock: false })
  const order = Array.from({ length: count }, (_, i) => i)
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const ids = order.map((i) => fixture.userID(i))
  const cpuMicros = () => {
    const { user, system } = process.cpuUsage()
    return user + system
  }
  // Warm the page cache and the JIT on a tenth of the table, then read the rest once each: every read a miss
  // (the account cache holds ~48,000 of these accounts; none of the rest was read before).
  const warm = Math.floor(count / 10)
  for (let i = 0; i < warm; i++) await store.accounts.byUserID(ids[i]!)
  let t = cpuMicros()
  for (let i = warm; i < count; i++) await store.accounts.byUserID(ids[i]!)
  const miss = (cpuMicros() - t) / (count - warm)
  const hot = ids[count - 1]!
  t = cpuMicros()
  for (let i = 0; i < 200_000; i++) await store.accounts.byUserID(hot)
  const hit = (cpuMicros() - t) / 200_000
  store.close()
  const raw = new Database(fixture.path, { readonly: true })
  raw.pragma('cache_size = -65536')
  const lookUp = raw.prepare('SELECT id FROM accounts WHERE user_id = ?').pluck()
  for (let i = 0; i < count; i++) lookUp.get(ids[i]!)
  t = cpuMicros()
  for (let i = 0; i < count; i++) lookUp.get(ids[i]!)
  const floor = (cpuMicros() - t) / count
  raw.close()
  const round = (x: number) => Math.round(x * 10) / 10
  console.log(JSON.stringify({ accounts: count, missMicros: round(miss), hitMicros: round(hit), indexOnlyMicros: round(floor) }))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
