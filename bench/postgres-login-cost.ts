// Where a profile:login's CPU goes on PostgreSQL beyond argon2: one node on a throwaway cluster (the
// bench's, synchronous_commit as given), logins at a modest closed-loop rate, and the node's and
// PostgreSQL's CPU per login next to argon2's own CPU per verification, each net of an idle window of the
// same length (the nodes' timers, PostgreSQL's background processes). CPU time, not wall time, so the
// figures hold on a loaded machine better than a rate does.
//   node --import tsx bench/postgres-login-cost.ts [seconds=8] [synchronous_commit=on]
// BY_PROCESS=1 also prints each PostgreSQL process's CPU in each window; CPU_PROF=DIR profiles the node.
import { verify } from '@node-rs/argon2'
import pg from 'pg'
import { fileURLToPath } from 'node:url'
import { readdirSync, readFileSync } from 'node:fs'
import { closedLoop, openConnections, type Conn } from './load.ts'
import { allCpus, cpuSeconds } from './processes.ts'
import { clusterCpuSeconds, loadFixture, startCluster, startNodes } from './postgres-cluster.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const seconds = Number(process.argv[2] ?? 8)
const synchronousCommit = process.argv[3] ?? 'on'
const CONNS = 8 // 8 in flight: argon2's 4 threads busy, the rest of the time left over for measuring
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

const cluster = await startCluster(root, allCpus)
try {
  if (synchronousCommit !== 'on') {
    const admin = new pg.Client({ connectionString: cluster.url })
    await admin.connect()
    await admin.query(`ALTER DATABASE hafnium_bench SET synchronous_commit = ${synchronousCommit === 'off' ? 'off' : 'on'}`)
    await admin.end()
  }
  const { nodes, stop } = await startNodes(root, cluster.url, [{ name: 'a' }], allCpus, process.env.CPU_PROF)
  try {
    const node = nodes[0]!
    const fixture = await loadFixture(cluster.url, 1000)
    const conns = await openConnections(node.url, CONNS)
    const stride = Math.floor(fixture.count / CONNS)
    const loginOf = new Map(conns.map((c, i) => [c, JSON.stringify({ username: fixture.username(i * stride), password: fixture.password })]))
    const login = (c: Conn) => new Promise<{ ok: boolean }>((done) => c.fire('profile:login', loginOf.get(c)!, (ok) => done({ ok })))
    // Warm-up: prepared statements, the pool, the JIT.
    await closedLoop(conns, 1, 2, login)

    const byProcess = () => {
      const out = new Map<string, number>()
      for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        try {
          const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ')
          if (Number(fields[1]) !== cluster.pid) continue
          const title = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').replace(/\(\d+\)/, '').trim()
          out.set(`${title} [${name}]`, (Number(fields[11]) + Number(fields[12])) / 100)
        } catch {}
      }
      return out
    }
    // The node's main thread (its tid is its pid) apart from its other threads (libuv's pool, where argon2
    // runs, and V8's): what the event loop spends per login, with no argon2 to subtract.
    const mainThread = () => {
      const fields = readFileSync(`/proc/${node.pid}/task/${node.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      return (Number(fields[11]) + Number(fields[12])) / 100
    }
    // Each of the node's threads (BY_THREAD=1). On Node 20 every thread is named "node": V8's workers have
    // the lowest IDs after the main thread's (started with the process), libuv's pool, where argon2 runs,
    // the next ones (started at its first use).
    const byThread = () => {
      const out = new Map<string, number>()
      for (const tid of readdirSync(`/proc/${node.pid}/task`)) {
        try {
          const comm = readFileSync(`/proc/${node.pid}/task/${tid}/comm`, 'utf8').trim()
          const fields = readFileSync(`/proc/${node.pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')
          out.set(`${comm} [${tid}]`, (Number(fields[11]) + Number(fields[12])) / 100)
        } catch {} // the thread ended meanwhile
      }
      return out
    }
    const window = async (work: () => Promise<number>) => {
      const threadsBefore = process.env.BY_THREAD ? byThread() : new Map<string, number>()
      const before = byProcess()
      const m0 = mainThread()
      const n0 = cpuSeconds(node.pid)
      const p0 = clusterCpuSeconds(cluster.pid)
      const t0 = performance.now()
      const count = await work()
      const after = byProcess()
      if (process.env.BY_THREAD) {
        console.log(`window of ${count} logins, CPU s per node thread:`)
        for (const [k, v] of byThread()) if (v > (threadsBefore.get(k) ?? 0)) console.log(' ', k, round(v - (threadsBefore.get(k) ?? 0), 3))
      }
      if (process.env.BY_PROCESS) {
        // Backends by application_name: the node's pool ('hafnium') apart from its bus's LISTEN connection.
        const admin = new pg.Client({ connectionString: cluster.url })
        await admin.connect()
        const names = new Map((await admin.query('SELECT pid, application_name FROM pg_stat_activity')).rows.map((r) => [String(r.pid), r.application_name as string]))
        await admin.end()
        console.log(`window of ${count} logins, CPU s per process:`)
        for (const [k, v] of after) if (v > (before.get(k) ?? 0)) console.log(' ', k, names.get(/\[(\d+)\]/.exec(k)![1]!) ?? '', round(v - (before.get(k) ?? 0), 3))
      }
      return { count, wall: (performance.now() - t0) / 1000, node: cpuSeconds(node.pid) - n0, main: mainThread() - m0, pg: clusterCpuSeconds(cluster.pid) - p0 }
    }
    const idle = await window(async () => (await new Promise((r) => setTimeout(r, seconds * 1000)), 0))
    const busy = await window(async () => {
      const sample = await closedLoop(conns, 1, seconds, login)
      if (sample.errors > 0) throw new Error(`${sample.errors} logins failed`)
      return sample.count
    })
    conns.forEach((c) => c.ws.terminate())

    // argon2id at the server's default cost (the fixture's hash), 4 at a time as the node runs it.
    const stored = await (await import('./fixture.ts')).fixtureHash()
    const cpu0 = process.cpuUsage()
    const verifications = 4 * 40
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < verifications / 4; i++) await verify(stored, fixture.password)
    }))
    const cpu1 = process.cpuUsage(cpu0)
    const argon2Ms = (cpu1.user + cpu1.system) / 1000 / verifications

    const perLogin = (cpu: number, idleCpu: number) => ((cpu - (idleCpu * busy.wall) / idle.wall) * 1000) / busy.count
    const nodeMs = perLogin(busy.node, idle.node)
    const pgMs = perLogin(busy.pg, idle.pg)
    console.log(
      JSON.stringify(
        {
          synchronousCommit,
          logins: busy.count,
          loginsPerSecond: round(busy.count / busy.wall, 1),
          argon2CpuMsPerVerify: round(argon2Ms),
          nodeCpuMsPerLogin: round(nodeMs),
          nodeCpuMsBeyondArgon2: round(nodeMs - argon2Ms),
          nodeMainThreadCpuMsPerLogin: round(perLogin(busy.main, idle.main)),
          nodeOtherThreadsCpuMsPerLogin: round(nodeMs - perLogin(busy.main, idle.main)),
          postgresCpuMsPerLogin: round(pgMs),
          idleCores: { node: round(idle.node / idle.wall, 3), postgres: round(idle.pg / idle.wall, 3) },
          // The share of a login's server CPU that is argon2: the most logins can reach of the argon2 ceiling
          // when CPU is what bounds them.
          argon2Share: round(argon2Ms / (nodeMs + pgMs)),
        },
        null,
        2,
      ),
    )
  } finally {
    await stop()
  }
} finally {
  cluster.stop()
}
