// What each statement of a password login costs PostgreSQL on its own: the store's own operations on a
// one-connection pool (so one backend runs them all), one at a time, the backend's CPU read from /proc —
// first on an otherwise idle machine, then again while argon2 keeps every core busy (bench/argon2-ceiling.ts
// in another process), which is what a node serving logins does to PostgreSQL. Beside
// bench/postgres-login-cost.ts (CPU per login under real load) it tells the statements' own work from
// what the load around them adds.
//   node --import tsx bench/postgres-statement-cost.ts [calls per statement = 500] [synchronous_commit = on]
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { allCpus } from './processes.ts'
import { loadFixture, startCluster, startNodes } from './postgres-cluster.ts'
import { createPool, run } from '../src/store/postgres/db.ts'
import { createAccountStore } from '../src/store/postgres/accounts.ts'
import { createDeviceStore } from '../src/store/postgres/devices.ts'
import { takeShared } from '../src/store/postgres/rate-buckets.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const calls = Number(process.argv[2] ?? 500)
const synchronousCommit = process.argv[3] ?? 'on'
const ticksPerMs = 0.1 // /proc counts CPU in 10 ms ticks

const cluster = await startCluster(root, allCpus)
try {
  // A node creates the schema (migrations/postgres/); the fixture's accounts are the logins' accounts.
  const { stop } = await startNodes(root, cluster.url, [{ name: 'a' }], allCpus)
  await stop()
  await loadFixture(cluster.url, 1000)
  const pool = createPool(cluster.url, 1)
  await run(pool, `SET synchronous_commit = ${synchronousCommit === 'off' ? 'off' : 'on'}`)
  const backend = (await run<{ pid: number }>(pool, 'SELECT pg_backend_pid() AS pid')).rows[0]!.pid
  const backendMs = () => {
    const fields = readFileSync(`/proc/${backend}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / ticksPerMs
  }
  const accounts = createAccountStore(pool)
  const devices = createDeviceStore(pool, randomBytes(32))
  const ids = (await run<{ id: string }>(pool, 'SELECT id FROM accounts ORDER BY id')).rows.map((r) => r.id)
  const charge = { rule: 'login_account', capacity: 1e9, refillPerSecond: 1e9, cost: 1 }
  const event = `a~0|1|0|1|${JSON.stringify({ kind: 'notify_account', accountID: ids[0], type: 'device:new_login', payload: { deviceID: 'x', deviceName: 'unnamed device', at: 1 }, exceptDeviceID: 'x' })}`
  const statements: [string, (i: number) => Promise<unknown>][] = [
    ['account by username (was statement 1)', (i) => accounts.byUsername(`user${i % 1000}`)],
    ['login_account take (was statement 2)', (i) => takeShared(pool, [{ ...charge, subject: `account:${ids[i % ids.length]}` }], Date.now())],
    ['account + take, one CTE (now statement 1)', (i) => accounts.byLoginNameCharging!({ username: `user${i % 1000}` }, { ...charge, subjectPrefix: 'account:', otherwise: 'name:x', now: Date.now() })],
    ['hafnium_insert_device', (i) =>
      devices.create({ accountID: ids[i % ids.length]!, tokenHash: randomBytes(32), name: 'unnamed device', pushToken: null, ip: '127.0.0.1', now: Date.now(),
        expect: { credentialsEpoch: 0, maxDevices: 1e9, settleLoginAt: Date.now() } })],
    ['pg_notify (nobody listening)', () => run(pool, 'SELECT pg_notify($1, $2)', ['hafnium_bench_nobody', event])],
  ]
  const measure = async () => {
    const out: Record<string, { postgresUs: number; wallUs: number }> = {}
    for (const [name, call] of statements) {
      for (let i = 0; i < 20; i++) await call(i) // prepared, warm
      const p0 = backendMs()
      const t0 = performance.now()
      for (let i = 0; i < calls; i++) await call(i)
      out[name] = {
        postgresUs: Math.round(((backendMs() - p0) * 1000) / calls),
        wallUs: Math.round(((performance.now() - t0) * 1000) / calls),
      }
    }
    return out
  }
  const alone = await measure()
  const argon2 = spawn(process.execPath, ['--import', 'tsx', `${root}bench/argon2-ceiling.ts`, '600'], { stdio: 'ignore' })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  let busy
  try {
    busy = await measure()
  } finally {
    argon2.kill()
  }
  await pool.end()
  console.log(`synchronous_commit = ${synchronousCommit}, ${calls} calls each, one at a time; µs per call`)
  console.log('| statement | PostgreSQL CPU alone | with argon2 on every core | wall alone | with argon2 |')
  console.log('|---|---|---|---|---|')
  for (const [name] of statements) {
    const a = alone[name]!
    const b = busy[name]!
    console.log(`| ${name} | ${a.postgresUs} | ${b.postgresUs} | ${a.wallUs} | ${b.wallUs} |`)
  }
} finally {
  cluster.stop()
}
