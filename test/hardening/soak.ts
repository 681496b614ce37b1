// npm run soak (manual tier, not in npm test or test:hardening): SOAK_MINUTES (default 10) of steady
// traffic against a built `hafnium serve` child process holding 2,000 idle authenticated sockets. Every
// 10 s it prints the server's RSS and the db/-wal/-shm sizes; it exits 1 when RSS still grows over the
// second half, the WAL outgrows its bound, any request fails, or the server dies.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rssBytes, startProcess } from '../../bench/processes.ts'
import { leastSquaresSlope, openFileLimits, pageSize, sizeOf, walBytes } from './soak-measure.ts'
import { socketPool, type Sock } from './soak-sockets.ts'

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10)
const IDLE = 2000
const ACCOUNTS = 20
const LOGINS_PER_SECOND = 3
const REQUESTS_PER_SECOND = 300
/** idle sockets closed and replaced by a fresh profile:auth socket, per second */
const CHURN_PER_SECOND = 2
const SAMPLE_MS = 10_000
const MAX_RSS_SLOPE_MIB_PER_MIN = 1
/** The server's checkpoint worker's trigger (1000 pages, as SQLite's wal_autocheckpoint default: store/checkpointer.ts), + 25%. */
const WAL_BOUND_PAGES = 1250
const password = 'soak-lantern-harbour-7'
const root = new URL('../..', import.meta.url).pathname
const MiB = 2 ** 20

// File descriptors: client and server are separate processes, each holding one end of every socket
// (~2,100 each with the logins, churn and SQLite files). Raise the soft limit when the hard one allows
// (re-running this script under `ulimit -n`); otherwise soak with fewer idle sockets, and say so.
const need = IDLE + 150
const { soft, hard } = openFileLimits()
if (soft < need && hard >= need && !process.env.SOAK_FD_RAISED) {
  console.log(`soak: raising the open-file limit from ${soft} to ${need + 100}`)
  const rerun = spawnSync('bash', ['-c', `ulimit -n ${need + 100} && exec "$@"`, 'soak', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, SOAK_FD_RAISED: '1' },
  })
  process.exit(rerun.status ?? 1)
}
const idleCount = Math.min(IDLE, soft - 150)
if (idleCount < IDLE) console.log(`soak: the open-file limit is ${soft} (hard ${hard}); holding ${idleCount} idle sockets instead of ${IDLE}`)

// SOAK_BUILD=0 soaks the dist/ already there (to soak a build other than the working tree's).
if (process.env.SOAK_BUILD !== '0' && spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' }).status !== 0) {
  console.error('soak: npm run build failed')
  process.exit(1)
}
const dir = mkdtempSync(join(tmpdir(), 'hafnium-soak-'))
const db = join(dir, 'soak.db')
const configFile = join(dir, 'soak.config.json')
const big = { capacity: 1e9, refillPerSecond: 1e9 }
writeFileSync(
  configFile,
  JSON.stringify({
    log: { level: 'warn' },
    // Every socket comes from 127.0.0.1: the shipped per-IP caps (200 open, 50 anonymous) would refuse them.
    // maxDevicesPerAccount stays at its default: idle sockets authenticate as their account's one device and
    // every login is logged out, so a leak of devices shows up as logins refused with forbidden.
    limits: { maxConnectionsPerIP: 100_000, maxAnonymousPerIP: 100_000 },
    // Rate limiting stays on (its buckets are part of what must not grow), with room for one IP's load.
    ratelimit: { enabled: true, rules: { login_ip: { ...big, subject: 'ip', types: ['profile:login', 'profile:auth', 'profile:sudo'] }, register_ip: { ...big, subject: 'ip', types: ['profile:register'] }, login_account: { ...big, subject: 'account' } } },
  }),
)
// Shipped argon2 cost: its 19 MiB per hash is the allocation most likely to show up as RSS growth.
const server = await startProcess([process.execPath, join(root, 'bin/hafnium.js'), 'serve', '--config', configFile, '--port', '0', '--db', db])
let serverExit: string | undefined
server.child.on('exit', (code, signal) => (serverExit = `${code ?? signal}`))
// However the soak ends (a throw during setup, Ctrl-C), it leaves no server and no temp dir behind.
process.on('exit', () => {
  if (serverExit === undefined) server.child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})
process.on('SIGINT', () => process.exit(130))

const pool = socketPool(server.url)
const { ask, retire, fail } = pool

// Setup: accounts, then the idle sockets authenticated as them (profile:auth: no argon2).
const setup = await Promise.all(Array.from({ length: ACCOUNTS }, () => pool.open()))
const tokens: string[] = await Promise.all(
  setup.map(async (s, i) => (await ask(s, 'profile:register', { username: `soak${i}`, password, loginOnSuccess: true })).payload.loginPayload.authToken),
)
setup.forEach(retire)
async function authedSocket(i: number): Promise<Sock> {
  const s = await pool.open()
  await ask(s, 'profile:auth', { authToken: tokens[i % ACCOUNTS] })
  return s
}
const idle: Sock[] = []
for (let i = 0; i < idleCount; i += 200) idle.push(...(await Promise.all(Array.from({ length: Math.min(200, idleCount - i) }, (_, k) => authedSocket(i + k)))))
console.log(`soak: ${idle.length} idle authenticated sockets on ${ACCOUNTS} accounts; ${MINUTES} min of ${REQUESTS_PER_SECOND} requests/s, ${LOGINS_PER_SECOND} logins/s, ${CHURN_PER_SECOND} reconnects/s (server pid ${server.pid})`)

const counts = { requests: 0, logins: 0, reconnects: 0 }
const requestTypes = ['profile:get', 'server:ping', 'device:list'] as const
/** A login on a fresh socket (argon2), a look at its devices, then logout and disconnect. */
async function loginCycle(n: number): Promise<void> {
  let s: Sock | undefined
  try {
    s = await pool.open()
    if ((await ask(s, 'profile:login', { username: `soak${n % ACCOUNTS}`, password, deviceName: 'soak login' })).ok) {
      await ask(s, 'device:list')
      await ask(s, 'profile:logout')
    }
    counts.logins++
  } catch (error) {
    fail(`login cycle: ${(error as Error).message}`)
  } finally {
    if (s) retire(s)
  }
}
async function reconnect(slot: number): Promise<void> {
  try {
    const fresh = await authedSocket(slot)
    const old = idle[slot]!
    idle[slot] = fresh
    retire(old)
    counts.reconnects++
  } catch (error) {
    fail(`reconnect: ${(error as Error).message}`)
  }
}

interface Sample {
  seconds: number
  rss: number
  db: number
  wal: number
  shm: number
}
const samples: Sample[] = []
function sample(seconds: number): void {
  let rss: number
  try {
    rss = rssBytes(server.pid)
  } catch {
    return // the server is exiting: its /proc entry is gone or has no VmRSS left; the exit handler reports it
  }
  const s = { seconds, rss, db: sizeOf(db), wal: sizeOf(`${db}-wal`), shm: sizeOf(`${db}-shm`) }
  samples.push(s)
  const mib = (n: number) => (n / MiB).toFixed(2).padStart(7)
  console.log(
    `t=${String(seconds).padStart(4)}s rss=${mib(s.rss)} MiB db=${mib(s.db)} MiB wal=${mib(s.wal)} MiB shm=${mib(s.shm)} MiB ` +
      `requests=${counts.requests} logins=${counts.logins} reconnects=${counts.reconnects} inFlight=${pool.inFlight} failures=${pool.failureCount}`,
  )
}

// Steady traffic: every 100 ms, send whatever the rates say is due by now (so a slow tick catches up).
sample(0)
const started = performance.now()
const duration = MINUTES * 60_000
const due = { requests: 0, logins: 0, reconnects: 0 }
let next = 0
let lastSample = 0
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const elapsed = performance.now() - started
    if (elapsed - lastSample >= SAMPLE_MS && serverExit === undefined) {
      lastSample += SAMPLE_MS
      sample(lastSample / 1000)
    }
    if (serverExit !== undefined || elapsed >= duration) {
      clearInterval(timer)
      return resolve()
    }
    const target = (rate: number) => Math.floor((elapsed / 1000) * rate)
    for (; due.requests < target(REQUESTS_PER_SECOND); due.requests++, counts.requests++) void ask(idle[next++ % idle.length]!, requestTypes[due.requests % requestTypes.length]!)
    for (; due.logins < target(LOGINS_PER_SECOND); due.logins++) void loginCycle(due.logins)
    for (; due.reconnects < target(CHURN_PER_SECOND); due.reconnects++) void reconnect(Math.floor(Math.random() * idle.length))
  }, 100)
})
// Replies still owed after 15 s count as failures (the timer guards against a hung server, not latency).
const drainUntil = performance.now() + 15_000
while (pool.inFlight > 0 && performance.now() < drainUntil && serverExit === undefined) await new Promise((r) => setTimeout(r, 50))
if (pool.inFlight > 0) fail(`${pool.inFlight} requests never answered`)
if (serverExit === undefined && samples.at(-1)!.seconds * 1000 < duration) sample(Math.round((performance.now() - started) / 1000))

// Verdict. RSS: least-squares slope over the second half, once start-up growth (heap sizing, caches) is past.
const second = samples.filter((s) => s.seconds >= (samples.at(-1)!.seconds / 2))
const slope = leastSquaresSlope(second.map((s) => [s.seconds / 60, s.rss / MiB]))
// WAL: the commit that takes the WAL past 1000 pages runs a checkpoint, and the next write starts the file
// over; the server is its file's only connection, so no reader can hold a checkpoint back. The file thus
// levels off at 1000 pages plus one commit (~4 MiB at 4 KiB pages). A quarter more covers any one commit
// this traffic makes (a few pages each); past it, commits skip the autocheckpoint or it is blocked. (A
// commit skips it when it is not stepped to SQLITE_DONE: an UPDATE … RETURNING read with better-sqlite3's
// .get() commits on reset, where SQLite runs no WAL hook.)
const walBound = walBytes(WAL_BOUND_PAGES, pageSize(db))
const walMax = Math.max(...samples.map((s) => s.wal))
const diedDuring = serverExit
pool.terminate(idle)
if (serverExit === undefined) await server.stop()
const checks = {
  [`RSS slope over the second half < ${MAX_RSS_SLOPE_MIB_PER_MIN} MiB/min`]: slope < MAX_RSS_SLOPE_MIB_PER_MIN,
  [`WAL ≤ ${(walBound / MiB).toFixed(1)} MiB (${WAL_BOUND_PAGES} pages)`]: walMax <= walBound,
  [`no failed request (${pool.failureCount})`]: pool.failureCount === 0,
  'the server stayed up': diedDuring === undefined,
  'the server exited 0 on SIGTERM': diedDuring === undefined && serverExit === '0',
}
const seconds = (performance.now() - started) / 1000
const first = samples[0]!
const last = samples.at(-1)!
console.log(`\nsoak summary: ${seconds.toFixed(0)} s, ${counts.requests} requests (${(counts.requests / seconds).toFixed(0)}/s), ${counts.logins} logins, ${counts.reconnects} reconnects, ${idle.length} idle sockets`)
const rssRange = (f: (...xs: number[]) => number) => (f(...samples.map((s) => s.rss)) / MiB).toFixed(1)
console.log(`  RSS ${(first.rss / MiB).toFixed(1)} → ${(last.rss / MiB).toFixed(1)} MiB (min ${rssRange(Math.min)}, max ${rssRange(Math.max)}), slope over the second half ${slope.toFixed(2)} MiB/min over ${second.length} samples`)
console.log(`  db ${(last.db / MiB).toFixed(2)} MiB, WAL max ${(walMax / MiB).toFixed(2)} MiB (bound ${(walBound / MiB).toFixed(1)} MiB), shm ${(last.shm / 1024).toFixed(0)} KiB`)
if (diedDuring !== undefined) console.log(`  server died: exit ${diedDuring}`)
for (const f of pool.failures.slice(0, 10)) console.log(`  failure: ${f}`)
for (const [name, ok] of Object.entries(checks)) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}`)
process.exit(Object.values(checks).every(Boolean) ? 0 : 1)
