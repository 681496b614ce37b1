// npm run bench -- --postgres: Hafnium on PostgreSQL (same host), one node and two nodes on one database:
// profile:get, profile:auth and logins per second, and how long an event takes from node A to node B.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { closedLoop, openConnections, summarize, type Conn, type Sample } from './load.ts'
import { signIn } from './traffic.ts'
import { allCpus, cores, cpuSeconds, hasTaskset, pinned } from './processes.ts'
import { serverNodeFlags } from './node-flags.ts'
import { clusterCpuSeconds, loadFixture, repin, startCluster, startNodes, type Node } from './postgres-cluster.ts'
import { crossNodeEvents } from './cross-node.ts'

export interface PostgresBenchOptions {
  root: string
  runs: number
  seconds: number
  accounts: number
  /** Cross-node events to time. */
  events: number
  only?: string
  cpuProf?: string
}

type Row = Record<string, number | string>
const CONNS = 64
const IN_FLIGHT = 8
// Two cores: the load generator keeps core 1 to itself, as in the SQLite bench; everything that serves
// (every node and PostgreSQL) shares core 0, so "per server CPU-second" counts nodes + PostgreSQL.
// Logins alone run unpinned (argon2 may use both cores, as in the SQLite bench's login scenario).
const SERVER_CPU = '0'
const log = (line: string) => process.stderr.write(line + '\n')
const load1 = () => Math.round(loadavg()[0]! * 100) / 100
const round2 = (n: number) => Math.round(n * 100) / 100
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
/** The run whose `by` is the median, with every run's `by` beside it (`<by>Runs`, in run order). */
function medianRow(rows: Row[], by = 'perSecond'): Row {
  const figures = rows.map((r) => Number(r[by]))
  return { ...rows[figures.indexOf(median(figures))]!, runs: rows.length, [`${by}Runs`]: figures.join(' / ') }
}
const request = (type: string, payloadOf: (c: Conn) => string) => (c: Conn) =>
  new Promise<{ ok: boolean }>((done) => c.fire(type, payloadOf(c), (ok) => done({ ok })))

export async function postgresBench(o: PostgresBenchOptions): Promise<void> {
  const want = (name: string) => !o.only || o.only.split(',').includes(name)
  const started = performance.now()
  const loadBefore = load1()
  const results: Record<string, Row> = {}
  // Each node's argon2 work in flight is its share of the machine's cores, as an operator sets it for
  // nodes sharing a host (README > Several nodes): a and b (the two-node rows) half each, and a node solo,
  // started for the one-node login row only, all of them (within the config's 1-64). With the default 4
  // each, two nodes ran 8 hashes on 2 cores and their event loops queued behind them.
  const hashes = (share: number) => Math.min(64, Math.max(1, Math.floor(share)))
  const specs = [{ name: 'a', hashes: hashes(cores / 2) }, { name: 'b', hashes: hashes(cores / 2) }]
  const soloSpec = { name: 'solo', hashes: hashes(cores) }
  log('postgres: starting a throwaway cluster (scripts/pg-test-cluster.sh), synchronous_commit = on for the bench database')
  const cluster = await startCluster(o.root, SERVER_CPU)
  let stopNodes = async () => {}
  try {
    const { nodes, add, stop } = await startNodes(o.root, cluster.url, specs, SERVER_CPU, o.cpuProf && resolve(o.cpuProf))
    stopNodes = stop
    const [a, b] = nodes as [Node, Node]
    log(`postgres: ${o.accounts.toLocaleString('en')} fixture accounts into the database`)
    const t0 = performance.now()
    const fixture = await loadFixture(cluster.url, o.accounts)
    results.fixture = { perSecond: 0, accounts: o.accounts, buildSeconds: round2((performance.now() - t0) / 1000) }
    const pin = (cpu: string) => repin(cpu, nodes.map((n) => n.pid), cluster.pid)

    /** Runs `run` while recording the nodes' and PostgreSQL's CPU time, and the load average after it. */
    const measure = async (serving: Node[], run: () => Promise<Sample>): Promise<Row> => {
      const nodes0 = serving.reduce((s, n) => s + cpuSeconds(n.pid), 0)
      const pg0 = clusterCpuSeconds(cluster.pid)
      const begun = performance.now()
      const sample = await run()
      const wall = (performance.now() - begun) / 1000
      const nodesCpu = (serving.reduce((s, n) => s + cpuSeconds(n.pid), 0) - nodes0) / wall
      const pgCpu = (clusterCpuSeconds(cluster.pid) - pg0) / wall
      return { ...summarize(sample), loop: 'closed', cpu: round2(nodesCpu + pgCpu), nodesCpu: round2(nodesCpu), pgCpu: round2(pgCpu), load: load1() }
    }
    /** 64 connections spread round-robin over `serving`, each signed in as its own fixture account. */
    const connect = async (serving: Node[]) => {
      const perNode = await Promise.all(serving.map((n) => openConnections(n.url, CONNS / serving.length)))
      const conns = perNode[0]!.flatMap((_, i) => perNode.map((list) => list[i]!))
      return { conns, signedIn: await signIn(conns, fixture) }
    }

    const rows: Record<string, Row[]> = {}
    const push = (name: string, row: Row) => (rows[name] ??= []).push(row)
    const tokens: { authToken: string; deviceID: string }[] = []
    for (let run = 1; run <= o.runs; run++) {
      for (const serving of [[a], [a, b]]) {
        const tag = serving.length === 1 ? '1node' : '2nodes'
        if (want('throughput')) {
          log(`postgres run ${run}/${o.runs}: ${serving.length} node(s), profile:get and profile:auth`)
          pin(SERVER_CPU)
          const { conns, signedIn } = await connect(serving)
          const authOf = new Map([...signedIn].map(([c, s]) => [c, JSON.stringify({ authToken: s.authToken })]))
          push(`get_${tag}`, await measure(serving, async () => closedLoop(conns, IN_FLIGHT, o.seconds, request('profile:get', () => '{}'))))
          push(`auth_${tag}`, await measure(serving, async () => closedLoop(conns, IN_FLIGHT, o.seconds, request('profile:auth', (c) => authOf.get(c)!))))
          conns.forEach((c) => c.ws.terminate())
        }
        if (want('logins')) {
          pin(allCpus)
          // The ceiling right before and right after each login row, and the row against their mean: on this
          // shared machine the load drifts within seconds, and one ceiling taken before the one-node row (as
          // until now) was ~20 s older than the two-node row it was also the yardstick of.
          const ceiling = () => {
            log(`postgres run ${run}/${o.runs}: argon2 ceiling (all cores)`)
            const [command, ...rest] = pinned([process.execPath, '--import', 'tsx', join(o.root, 'bench/argon2-ceiling.ts'), String(o.seconds)])
            return Math.round(JSON.parse(spawnSync(command!, rest).stdout.toString()).perSecond)
          }
          const ceilingBefore = ceiling()
          // solo runs only for its row: beside the others it would be one more LISTENer woken by every event.
          const solo = serving.length === 1 ? await add(soloSpec, allCpus) : undefined
          const loginNodes = solo ? [solo] : serving
          log(`postgres run ${run}/${o.runs}: ${serving.length} node(s), profile:login, unpinned`)
          const conns = (await Promise.all(loginNodes.map((n) => openConnections(n.url, CONNS / loginNodes.length)))).flat()
          const stride = Math.floor(fixture.count / CONNS)
          const loginOf = new Map(conns.map((c, i) => [c, JSON.stringify({ username: fixture.username(i * stride), password: fixture.password })]))
          // The two-node logins' devices are the ones the event scenario revokes.
          const keep = serving.length === 2 && want('events')
          const login = (c: Conn) =>
            new Promise<{ ok: boolean }>((done) =>
              c.fire('profile:login', loginOf.get(c)!, (ok, text) => {
                if (ok && keep) tokens.push(JSON.parse(text).payload)
                done({ ok })
              }),
            )
          const row = await measure(loginNodes, () => closedLoop(conns, 1, o.seconds, login))
          conns.forEach((c) => c.ws.terminate())
          await solo?.stop()
          const ceilingAfter = ceiling()
          const argon2PerSecond = Math.round((ceilingBefore + ceilingAfter) / 2)
          push(`login_${tag}`, { ...row, argon2PerSecond, argon2Before: ceilingBefore, argon2After: ceilingAfter, ofCeiling: round2(Number(row.perSecond) / argon2PerSecond) })
        }
      }
    }
    for (const [name, list] of Object.entries(rows)) results[name] = medianRow(list, name.startsWith('login') ? 'ofCeiling' : 'perSecond')

    if (want('events')) results.revoke_cross_node = await crossNodeEvents(a, b, fixture, tokens, o.events, pin, SERVER_CPU)
  } finally {
    await stopNodes()
    cluster.stop()
  }

  const targets = {
    'cross-node revocation p99 ≤ 50 ms': results.revoke_cross_node?.p99,
    'profile:auth on PostgreSQL ≥ 5,000/s (one node)': results.auth_1node?.perSecond,
    'profile:auth on PostgreSQL ≥ 5,000/s (two nodes)': results.auth_2nodes?.perSecond,
    'logins on two nodes ≥ 0.85 × argon2 ceiling': results.login_2nodes?.ofCeiling,
  }
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, pinned: hasTaskset },
    postgres: { synchronousCommit: cluster.synchronousCommit, poolSizePerNode: 10, pinning: `nodes and PostgreSQL on core ${SERVER_CPU}, load on core 1; logins unpinned`, maxConcurrentHashes: Object.fromEntries([...specs, soloSpec].map((s) => [s.name, s.hashes])) },
    nodeFlags: serverNodeFlags(o.root),
    loadAverage: { before: loadBefore, after: load1() },
    settings: { runs: o.runs, seconds: o.seconds, connections: CONNS, inFlight: IN_FLIGHT, events: o.events },
    results,
    targets,
    elapsedSeconds: Math.round((performance.now() - started) / 1000),
  }
  mkdirSync(join(o.root, 'bench/results'), { recursive: true })
  const file = join(o.root, 'bench/results', `${report.date.slice(0, 10)}-postgres${o.only ? '.' + o.only.replaceAll(',', '+') : ''}.json`)
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n')

  console.log(`\nPostgreSQL on this host, synchronous_commit = ${cluster.synchronousCommit}; ${report.postgres.pinning}`)
  console.log('\n| scenario | round trips/s | per server CPU-second | nodes CPU | PostgreSQL CPU | latency loop | p50 ms | p99 ms | max ms | × argon2 ceiling | errors | load avg (1 min) |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const [name, row] of Object.entries(results)) {
    if (name === 'fixture') continue
    const perCpu = Number(row.cpu) > 0 ? Math.round(Number(row.perSecond) / Number(row.cpu)) : ''
    console.log(
      `| ${name} | ${row.perSecond ?? ''} | ${perCpu} | ${row.nodesCpu ?? ''} | ${row.pgCpu ?? ''} | ${row.loop ?? ''} | ${row.p50} | ${row.p99} | ${row.max} | ${row.ofCeiling ?? ''} | ${row.errors} | ${row.load} |`,
    )
  }
  console.log('\ntargets:')
  for (const [name, value] of Object.entries(targets)) console.log(`  ${name}: ${value ?? 'not measured'}`)
  if (results.fixture) console.log(`\nfixture: ${results.fixture.accounts} accounts loaded in ${results.fixture.buildSeconds} s`)
  console.log(`load average (1 min): ${report.loadAverage.before} before, ${report.loadAverage.after} after, on ${cpus().length} cores`)
  console.log(`\nwrote ${file.slice(o.root.length)} in ${report.elapsedSeconds} s`)
  const failed = Object.entries(results).filter(([, row]) => Number(row.errors ?? 0) > 0)
  if (failed.length > 0) {
    console.log(`\nFAILED: scenarios with errors: ${failed.map(([name, row]) => `${name} (${row.errors})`).join(', ')}`)
    process.exitCode = 1
  }
}
