// npm run bench: Hafnium against a raw ws echo server (the ceiling), same load generator, same settings.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { buildFixture, copyFixture, type Fixture } from './fixture.ts'
import { always, closedLoop, openConnections, openLoop, percentile, summarize, type Conn, type OpenRequest } from './load.ts'
import { tailOf } from './tail.ts'
import { mixedClosed, mixedOpen, signIn } from './traffic.ts'
import { serverNodeFlags } from './node-flags.ts'
import { allCpus, cpuSeconds, hasTaskset, involuntarySwitches, ioSyscalls, pinned, pinSelf, rssBytes, stealMs, startProcess, type ServerProcess } from './processes.ts'

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    accounts: { type: 'string', default: '100000' },
    idle: { type: 'string', default: '20000' },
    only: { type: 'string' },
    // Hafnium servers run under --cpu-prof, writing .cpuprofile files into this directory (where the time goes).
    'cpu-prof': { type: 'string' },
    // Extra node flags for the Hafnium servers (e.g. --trace-gc), their output kept in --server-log's directory.
    'server-node-args': { type: 'string' },
    'server-log': { type: 'string' },
    // A separate mode (bench/postgres.ts): Hafnium on PostgreSQL, one and two nodes; not part of the default run.
    postgres: { type: 'boolean', default: false },
    // --postgres: cross-node events to time.
    events: { type: 'string', default: '1000' },
  },
})
if (args.postgres) {
  const { postgresBench } = await import('./postgres.ts')
  const root = new URL('..', import.meta.url).pathname
  pinSelf('1')
  await postgresBench({ root, runs: Number(args.runs), seconds: Number(args.seconds), accounts: Number(args.accounts), events: Number(args.events), only: args.only, cpuProf: args['cpu-prof'] })
  process.exit()
}
const runs = Number(args.runs)
const seconds = Number(args.seconds)
const idleCount = Number(args.idle)
const accountCount = Number(args.accounts)
const want = (name: string) => !args.only || args.only.split(',').includes(name)
const root = new URL('..', import.meta.url).pathname
const SERVER_CPU = '0'
// Hafnium's node flags as `npm start` runs it (package.json), then this run's own (--server-node-args).
const serverFlags = serverNodeFlags(root)
const extraServerFlags = args['server-node-args']?.split(' ').filter(Boolean) ?? []
const LOAD_CPU = '1'
const CONNS = 64
const IN_FLIGHT = 8

type Row = Record<string, number | string | object>
const results: Record<string, Row> = {}
const benchStarted = performance.now()
// Each line stamped with the seconds since the start: where the 6-minute budget goes.
const log = (line: string) => process.stderr.write(`[${Math.round((performance.now() - benchStarted) / 1000)} s] ${line}\n`)

pinSelf(LOAD_CPU)

/**
 * The ceiling: `corked` answers a tick's frames in one write, as Hafnium does; plain, one write per reply.
 * Under the server's node flags, so the two differ in what they do, not in how V8 runs them.
 */
const echo = (mode: 'corked' | 'plain' = 'corked') =>
  startProcess([process.execPath, ...serverFlags, '--import', 'tsx', join(root, 'bench/echo-server.ts'), '0', mode], SERVER_CPU)

// Built once per run (its own temporary directory), copied for each server that needs it.
const fixtureDir = mkdtempSync(join(tmpdir(), 'hafnium-bench-fixture-'))
let fixturePromise: Promise<Fixture> | undefined
const fixture = () =>
  (fixturePromise ??= (async () => {
    log(`fixture: ${accountCount.toLocaleString('en')} accounts with profiles and verified emails, one transaction`)
    const t0 = performance.now()
    const built = await buildFixture(join(fixtureDir, 'fixture.db'), accountCount)
    results.fixture = { perSecond: 0, accounts: accountCount, buildSeconds: Math.round((performance.now() - t0) / 100) / 10 }
    return built
  })())
process.on('exit', () => rmSync(fixtureDir, { recursive: true, force: true }))
/**
 * Hafnium on a fresh database, or on a copy of the fixture (`withFixture`). `chat`: with the example chat extension (examples/chat) loaded, from
 * bench/chat.config.json merged over bench.config.json (the server takes one --config file), its chat
 * store in the same temporary directory.
 */
async function hafnium(cpu = SERVER_CPU, chat = false, withFixture = false): Promise<ServerProcess & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-bench-'))
  if (withFixture) copyFixture(await fixture(), join(dir, 'bench.db'))
  let config = join(root, 'bench/bench.config.json')
  if (chat) {
    const readJson = (name: string) => JSON.parse(readFileSync(join(root, 'bench', name), 'utf8'))
    const merged = mergeJson(readJson('bench.config.json'), readJson('chat.config.json'))
    // Extension paths are relative to the config file that names them: this one is written elsewhere.
    merged.extensions = (merged.extensions as string[]).map((p) => resolve(root, 'bench', p))
    config = join(dir, 'bench-chat.config.json')
    writeFileSync(config, JSON.stringify(merged))
  }
  const server = await startProcess(
    [
      process.execPath,
      ...serverFlags,
      ...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(args['cpu-prof'])] : []),
      ...extraServerFlags,
      join(root, 'bin/hafnium.js'), 'serve', '--config', config, '--port', '0', '--db', join(dir, 'bench.db')],
    cpu,
    chat ? { HAFNIUM_CHAT_DB: join(dir, 'chat.db') } : undefined,
    args['server-log'] ? resolve(args['server-log']) : undefined,
  )
  return { ...server, dir, stop: async () => (await server.stop(), rmSync(dir, { recursive: true, force: true })) }
}

/** Objects merge key by key, everything else replaces (as the server merges its config files). */
function mergeJson(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const was = out[key]
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
    out[key] = isObject(was) && isObject(value) ? mergeJson(was, value) : value
  }
  return out
}

/** Runs a load function while recording the server's CPU time and peak RSS. */
async function measure<T extends { perSecond: number }>(server: ServerProcess, run: () => Promise<T>): Promise<T & { cpu: number; rssMiB: number; cpuMicrosPerTrip: number; ioSyscallsPerTrip: number }> {
  const cpu0 = cpuSeconds(server.pid)
  const io0 = ioSyscalls(server.pid)
  const started = performance.now()
  const result = await run()
  const seconds = (performance.now() - started) / 1000
  const cpu = (cpuSeconds(server.pid) - cpu0) / seconds
  // Per round trip: less noisy on a shared machine than the rates, and what a change to the path moves.
  const trips = result.perSecond * seconds
  const cpuMicrosPerTrip = Math.round((((cpuSeconds(server.pid) - cpu0) * 1e6) / trips) * 10) / 10
  const ioSyscallsPerTrip = Math.round(((ioSyscalls(server.pid) - io0) / trips) * 100) / 100
  return { ...result, cpu: Math.round(cpu * 100) / 100, rssMiB: Math.round(rssBytes(server.pid) / 2 ** 20), cpuMicrosPerTrip, ioSyscallsPerTrip }
}

async function account(conn: Conn, name: string, password = 'tulip-harbour-' + name.length + '-' + Math.random().toString(36).slice(2)) {
  const reg = await conn.send('profile:register', { username: name, password, loginOnSuccess: true })
  if (!reg.ok) throw new Error(`register ${name}: ${JSON.stringify(reg.payload)}`)
  return { password, authToken: reg.payload.loginPayload.authToken as string, userID: reg.payload.userID as string }
}

// When the load generator, not the server, is the limit (server CPU < 1), round trips per second of server
// CPU compares the servers' costs; round trips/s alone then compares the load generator's runs.
const perCpuOf = (row: Row | undefined) => (row && Number(row.cpu) > 0 ? Number(row.perSecond) / Number(row.cpu) : undefined)
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
/** The run whose `by` figure is the median (the whole row, so its figures belong together). */
function medianRow(rows: Row[], by = 'perSecond'): Row {
  const figures = rows.map((r) => Number(r[by]))
  const chosen = rows[figures.indexOf(median(figures))]!
  return { ...chosen, runs: rows.length }
}

const lane = (type: string, payload: unknown = {}) => {
  const json = JSON.stringify(payload)
  return (c: Conn) => new Promise<{ ok: boolean }>((done) => c.fire(type, json, (ok) => done({ ok })))
}

/**
 * Closed loop, 64 connections × 8 in flight: both echo servers, then one Hafnium on a copy of the
 * fixture with each connection signed in as a different account: server:ping, own profile:get,
 * profile:auth (re-auth on the live socket with its own token), and mixed (the plain echo: run 1 only). With `latency`, the corked
 * echo and mixed are then driven open loop at half the peak this run measured, on the same server and
 * connections (no second fixture copy and 64 logins per run: the bench's 6-minute budget), and the corked
 * echo at mixed_half's rate (the harness's floor at that rate).
 *
 * The corked echo stays up beside Hafnium (same core, its own connections, idle while Hafnium is loaded):
 * each Hafnium scenario is compared with the echo measured right before and right after it (ECHO_BESIDE
 * seconds each; the mean of the two), not with the echo of a minute earlier. On a shared VM the machine's
 * speed drifts within seconds: with the echo measured once per run, server:ping's three runs read 0.81 /
 * 1.09 / 1.39 × echo in one full run, while nothing on either server changed between them.
 */
const ECHO_BESIDE = 1
async function throughput(latency: boolean) {
  const rows: Record<string, Row[]> = { echo_plain: [], echo: [], ping: [], get: [], mixed: [], auth: [], echo_half: [], mixed_half: [], echo_at_mixed_half: [] }
  const closed = async (server: ServerProcess, conns: Conn[], request: (c: Conn) => Promise<{ ok: boolean }>, forSeconds = seconds) =>
    ({ ...(await measure(server, async () => summarize(await closedLoop(conns, IN_FLIGHT, forSeconds, request)))), loop: 'closed' }) as Row
  const fx = await fixture()
  for (let run = 1; run <= runs; run++) {
    // The plain echo only says what corking is worth (not a target's divisor): measured in the first run only,
    // which keeps the bench within its 6-minute budget.
    if (run === 1) {
      log(`throughput run ${run}/${runs}: echo (plain)`)
      const e = await echo('plain')
      const conns = await openConnections(e.url, CONNS)
      rows.echo_plain!.push(await closed(e, conns, lane('server:ping')))
      conns.forEach((c) => c.ws.terminate())
      await e.stop()
    }
    log(`throughput run ${run}/${runs}: echo (corked)`)
    const e = await echo('corked')
    const echoConns = await openConnections(e.url, CONNS)
    rows.echo!.push(await closed(e, echoConns, lane('server:ping')))
    if (latency) {
      log(`latency at 50% of peak, run ${run}/${runs}: echo (corked)`)
      rows.echo_half!.push(await halfPeak(e, echoConns, Number(rows.echo!.at(-1)!.perSecond) / 2, always('server:ping')))
    }
    // NaN when the echo used no measurable CPU: that run's ratio is then n/a (pairedRatios).
    const echoNow = async () => perCpuOf(await closed(e, echoConns, lane('server:ping'), ECHO_BESIDE)) ?? NaN
    /** A Hafnium row with the echo's cost per CPU-second around it (`echoBeside`, the mean of before and after). */
    const bracketed = async (before: number, measured: () => Promise<Row>) => {
      const row = await measured()
      const after = await echoNow()
      return { row: { ...row, echoBesidePerCpu: Math.round((before + after) / 2) } as Row, after }
    }

    log(`throughput run ${run}/${runs}: hafnium on the ${accountCount.toLocaleString('en')}-account fixture, the corked echo beside it`)
    const h = await hafnium(SERVER_CPU, false, true)
    const conns = await openConnections(h.url, CONNS)
    const signedIn = await signIn(conns, fx)
    // Warm-up (JIT) as chat's, so the first row compared is not also the one that pays for it.
    await closedLoop(conns, IN_FLIGHT, 1, lane('server:ping'))
    let echoed = await echoNow()
    for (const [name, request] of [['ping', lane('server:ping')], ['get', lane('profile:get')]] as const) {
      const { row, after } = await bracketed(echoed, () => closed(h, conns, request))
      rows[name]!.push(row)
      echoed = after
    }
    const authOf = new Map([...signedIn].map(([c, s]) => [c, JSON.stringify({ authToken: s.authToken })]))
    const auth = await bracketed(echoed, () => closed(h, conns, (c) => new Promise((done) => c.fire('profile:auth', authOf.get(c)!, (ok) => done({ ok })))))
    rows.auth!.push(auth.row)
    const reconnects: number[] = []
    const { row: mixed } = await bracketed(auth.after, () => closed(h, conns, mixedClosed(h.url, fx, signedIn, reconnects)))
    // The 2% reconnects apart: a new socket waits in the listen queue behind whole rounds of the 512 requests in flight.
    const sorted = Float64Array.from(reconnects).sort()
    Object.assign(mixed, { reconnects: sorted.length, reconnectP50: Math.round(percentile(sorted, 50) * 100) / 100, reconnectP99: Math.round(percentile(sorted, 99) * 100) / 100 })
    rows.mixed!.push(mixed)
    if (latency) {
      log(`latency at 50% of peak, run ${run}/${runs}: hafnium mixed`)
      rows.mixed_half!.push(await halfPeak(h, conns, Number(mixed.perSecond) / 2, mixedOpen(fx, signedIn)))
    }
    conns.forEach((c) => c.ws.terminate())
    await h.stop()
    if (latency) {
      // The harness's floor at mixed_half's own rate (echo_half runs ~7× faster): what the tail would be if the server cost nothing.
      log(`latency at mixed's half-peak rate, run ${run}/${runs}: echo (corked)`)
      rows.echo_at_mixed_half!.push(await halfPeak(e, echoConns, Number(mixed.perSecond) / 2, always('server:ping')))
    }
    echoConns.forEach((c) => c.ws.terminate())
    await e.stop()
  }
  for (const [name, list] of Object.entries(rows)) {
    if (list.length === 0) continue
    results[name] = medianRow(list, name.endsWith('_half') ? 'p99' : 'perSecond')
    // The tail varies from run to run more than the rates do: every run's p99 next to the median's row.
    if (name.endsWith('_half')) {
      results[name]!.p99s = list.map((row) => row.p99).join(' / ')
      results[name]!.serverCoreStealMsRuns = list.map((row) => row.serverCoreStealMs).join(' / ')
    }
  }
  for (const name of ['ping', 'get', 'mixed', 'auth']) Object.assign(results[name]!, pairedRatios(rows[name]!, rows[name]!.map((row) => ({ perSecond: Number(row.echoBesidePerCpu), cpu: 1 }))))
}

/**
 * Per server CPU-second, each run's row ÷ the row it is compared with in that same run, and the median of
 * those ratios: on a shared VM a neighbour's load drifts over minutes, and the two medians taken apart
 * (each by its rate) could come from different moments.
 */
function pairedRatios(list: Row[], of: Row[]) {
  // A run whose server used no measurable CPU has no ratio: n/a in the runs' list, left out of the median.
  const all = list.map((row, i) => Number(perCpuOf(row)) / Number(perCpuOf(of[i])))
  const ratios = all.filter((x) => Number.isFinite(x))
  const rounded = (x: number) => Math.round(x * 100) / 100
  const runsList = all.map((x) => (Number.isFinite(x) ? rounded(x) : 'n/a')).join(' / ')
  const figures: Row = ratios.length === 0 ? {} : { ofPerCpu: rounded(median(ratios)), ofPerCpuRuns: runsList }
  return figures
}

/** The load generator's own event-loop delay p99 during `run` (ms): a tail here is the harness's, not the server's. */
async function withOwnLag<T extends object>(run: () => Promise<T>): Promise<T & { loadgenLagP99: number; loadgenLagMax: number }> {
  const lag = monitorEventLoopDelay({ resolution: 1 })
  lag.enable()
  const result = await run()
  lag.disable()
  return { ...result, loadgenLagP99: Math.round((lag.percentile(99) / 1e6) * 100) / 100, loadgenLagMax: Math.round((lag.max / 1e6) * 100) / 100 }
}

/** Open loop at `rate` after a 2 s warm-up at the same rate (its first ~200 ms ran 5x slower while both sides' JIT caught up). */
async function halfPeak(server: ServerProcess, conns: Conn[], rate: number, request: OpenRequest): Promise<Row> {
  await openLoop(conns, rate, 2, request)
  // What the machine took from the server meanwhile: the hypervisor (steal on the server's core) and other
  // tasks on that core (the main thread's involuntary switches). A tail with these high is not the server's.
  const steal0 = stealMs(SERVER_CPU)
  const switches0 = involuntarySwitches(server.pid)
  const row = await withOwnLag(() =>
    measure(server, async () => {
      const sample = await openLoop(conns, rate, seconds, request)
      return { ...summarize(sample), tail: tailOf(sample, 5)! }
    }),
  )
  // Without taskset the server is not pinned, and core 0's steal is not its own.
  const stolen = { serverCoreStealMs: hasTaskset ? Math.round(stealMs(SERVER_CPU) - steal0) : NaN, serverInvoluntarySwitches: involuntarySwitches(server.pid) - switches0 }
  return { ...row, ...stolen, rate: Math.round(rate), loop: 'open' }
}

async function idleMemory() {
  for (const kind of ['echo', 'hafnium'] as const) {
    log(`memory: ${idleCount} idle connections on ${kind}`)
    const server = kind === 'echo' ? await echo() : await hafnium()
    const setup = (await openConnections(server.url, 1))[0]!
    const authToken = kind === 'hafnium' ? (await account(setup, 'idle')).authToken : ''
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const before = rssBytes(server.pid)
    // From 16 loopback addresses: from one, each connect() searched a nearly full ephemeral port range
    // (19,000 sockets: 23 s, 16.5 s of it the load generator's kernel time; from 16, 7.8 s).
    const conns = await openConnections(server.url, idleCount, 500, 16)
    for (let i = 0; i < conns.length; i += 1000) {
      await Promise.all(conns.slice(i, i + 1000).map((c) => (kind === 'hafnium' ? c.send('profile:auth', { authToken }) : c.send('server:ping', {}))))
    }
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const after = rssBytes(server.pid)
    results[`idle_${kind}`] = { perSecond: 0, connections: conns.length, bytesPerConnection: Math.round((after - before) / conns.length), rssMiB: Math.round(after / 2 ** 20) }
    conns.forEach((c) => c.ws.terminate())
    setup.ws.terminate()
    await server.stop()
  }
}

/** profile:login (argon2id verify) against the machine's argon2 ceiling, with a ping canary for the event loop. */
async function logins() {
  const loginRows: Row[] = []
  // Shorter than the other scenarios (each run also measures the ceiling) so the whole bench fits its
  // 6-minute budget: ~350 logins and ~250 canary round trips per run.
  const phase = Math.min(seconds, 5)
  const accounts = await fixture()
  const stride = Math.floor(accounts.count / CONNS)
  for (let run = 1; run <= runs; run++) {
    log(`logins run ${run}/${runs}: argon2 ceiling (all cores)`)
    const [command, ...rest] = pinned([process.execPath, '--import', 'tsx', join(root, 'bench/argon2-ceiling.ts'), String(phase)])
    const ceiling = spawnSync(command!, rest)
    const argon2PerSecond = Math.round(JSON.parse(ceiling.stdout.toString()).perSecond)
    log(`logins run ${run}/${runs}: hafnium, unpinned so argon2 may use every core`)
    const h = await hafnium(allCpus, false, true)
    const conns = await openConnections(h.url, CONNS)
    const canary = (await openConnections(h.url, 1))[0]!
    let stop = false
    const canaryRtts: number[] = []
    const canaryLoop = (async () => {
      while (!stop) {
        const t0 = performance.now()
        await canary.send('server:ping', {})
        canaryRtts.push(performance.now() - t0)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    const loginOf = new Map(conns.map((c, i) => [c, JSON.stringify({ username: accounts.username(i * stride), password: accounts.password })]))
    const row = await measure(h, async () =>
      summarize(await closedLoop(conns, 1, phase, (c) => new Promise((done) => c.fire('profile:login', loginOf.get(c)!, (ok) => done({ ok }))))),
    )
    stop = true
    await canaryLoop
    const sorted = Float64Array.from(canaryRtts).sort()
    const canaryP99 = Math.round(sorted[Math.floor(sorted.length * 0.99)]! * 100) / 100
    loginRows.push({ ...row, loop: 'closed', argon2PerSecond, ofCeiling: Math.round((row.perSecond / argon2PerSecond) * 100) / 100, canaryP99 })
    conns.forEach((c) => c.ws.terminate())
    canary.ws.terminate()
    await h.stop()
  }
  results.login = medianRow(loginRows, 'ofCeiling')
}

/**
 * chat:send between online users (examples/chat): 32 pairs of registered users, one authenticated socket
 * each (64, as in the throughput scenario), each sending its partner an ~80-character message, closed loop,
 * 8 requests in flight per socket. A socket's requests are handled one after the other (the in-order
 * queue), so one pair alone measures the queue's turn-around, not the server's cost per message. Each send
 * stores the message and sends chat:message to both users' devices, so every socket also reads events,
 * one per message sent or received: they are read as they arrive (and counted, so lost deliveries show).
 * Each run also measures profile:get on the same server, 64 connections × 8, right after: the ratio is
 * taken run by run (pairedRatios), the same server at the same moment.
 */
async function chat() {
  const chatRows: Row[] = []
  const getRows: Row[] = []
  const text = 'Running ten minutes late, the tram is stuck at Zollplatz. Order me a flat white?'
  for (let run = 1; run <= runs; run++) {
    log(`chat run ${run}/${runs}: hafnium with examples/chat, chat:send between ${CONNS / 2} pairs of users`)
    const h = await hafnium(SERVER_CPU, true)
    const conns = await openConnections(h.url, CONNS)
    const users = await Promise.all(conns.map((c, i) => account(c, `chatter${i}`)))
    // Sockets 2k and 2k+1 are a pair: each writes to the other.
    const to = new Map(conns.map((c, i) => [c, JSON.stringify({ to: users[i ^ 1]!.userID, text })]))
    const send = (c: Conn) => new Promise<{ ok: boolean }>((done) => c.fire('chat:send', to.get(c)!, (ok) => done({ ok })))
    // Warm-up (JIT, SQLite page cache), then the measured run.
    await closedLoop(conns, IN_FLIGHT, 1, send)
    const eventsOf = () => conns.reduce((n, c) => n + c.events(), 0)
    const eventsBefore = eventsOf()
    const row = await measure(h, async () => {
      const sample = await closedLoop(conns, IN_FLIGHT, seconds, send)
      return { ...summarize(sample), sent: sample.count }
    })
    // Let the last events arrive, then check every send produced its two events (recipient and sender).
    await new Promise((resolve) => setTimeout(resolve, 500))
    const events = eventsOf() - eventsBefore
    const lostEvents = Math.max(0, 2 * (Number(row.sent) - Number(row.errors)) - events)
    chatRows.push({ ...row, loop: 'closed', events, lostEvents })
    conns.forEach((c) => c.ws.terminate())
    {
      log(`chat run ${run}/${runs}: profile:get on the same server, for the ratio`)
      const getConns = await openConnections(h.url, CONNS)
      await Promise.all(getConns.map((c) => c.send('profile:auth', { authToken: users[0]!.authToken })))
      getRows.push({ ...(await measure(h, async () => summarize(await closedLoop(getConns, IN_FLIGHT, seconds, lane('profile:get'))))), loop: 'closed' })
      getConns.forEach((c) => c.ws.terminate())
    }
    await h.stop()
  }
  results.get_for_chat = medianRow(getRows)
  results.chat_send = { ...medianRow(chatRows), ...pairedRatios(chatRows, getRows) }
}

const started = performance.now()
const loadBefore = Math.round(loadavg()[0]! * 100) / 100
if (want('throughput') || want('latency')) await throughput(want('latency'))
if (want('memory')) await idleMemory()
if (want('logins')) await logins()
if (want('chat')) await chat()

const ratio = (a: unknown, b: unknown) => (a && b ? Math.round((Number(a) / Number(b)) * 100) / 100 : undefined)
const cpuRatio = (row: Row | undefined, of: Row | undefined) => ratio(perCpuOf(row), perCpuOf(of))
// The median of the runs' own ratios, with every run's (pairedRatios).
const paired = (row: Row | undefined) => row?.ofPerCpu !== undefined ? `${row.ofPerCpu} (runs ${row.ofPerCpuRuns})` : undefined
// Issue 18's targets: per server CPU-second, × the corked echo of the same run.
const targets = {
  'server:ping ≥ 0.90 × echo (per server CPU-second)': paired(results.ping),
  'own profile:get on the fixture ≥ 0.65 × echo (per server CPU-second)': paired(results.get),
  'mixed ≥ 0.55 × echo (per server CPU-second)': paired(results.mixed),
  'profile:auth ≥ 0.50 × echo (per server CPU-second)': paired(results.auth),
  'mixed p99 at 50% of its peak ≤ 5 ms (open loop)': results.mixed_half?.p99,
  'echo p99 at 50% of its peak (open loop, the harness floor)': results.echo_half?.p99,
  "echo p99 at mixed_half's rate (open loop, the harness floor at that rate)": results.echo_at_mixed_half?.p99,
  'idle bytes/conn ≤ 1.5 × echo': ratio(results.idle_hafnium?.bytesPerConnection, results.idle_echo?.bytesPerConnection),
  'logins ≥ 0.85 × argon2 ceiling': results.login?.ofCeiling,
  'canary p99 during logins ≤ 20 ms': results.login?.canaryP99,
  'chat:send ≥ 0.50 × profile:get (round trips/s)': ratio(results.chat_send?.perSecond, results.get_for_chat?.perSecond),
  'chat:send ≥ 0.50 × profile:get (per server CPU-second)': paired(results.chat_send),
  'corking is worth (corked echo ÷ plain echo, per server CPU-second)': cpuRatio(results.echo, results.echo_plain),
}
const failed = Object.entries(results).filter(([, row]) => Number(row.errors ?? 0) + Number(row.lostEvents ?? 0) > 0)
const report = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, pinned: hasTaskset },
  // Other processes' load skews every figure here: the 1-minute load average before and after the run.
  loadAverage: { before: loadBefore, after: Math.round(loadavg()[0]! * 100) / 100 },
  settings: { runs, seconds, connections: CONNS, inFlight: IN_FLIGHT, idle: idleCount, serverNodeFlags: [...serverFlags, ...extraServerFlags] },
  results,
  targets,
  elapsedSeconds: Math.round((performance.now() - started) / 1000),
}
mkdirSync(join(root, 'bench/results'), { recursive: true })
// A partial run (--only) gets its own file, so it does not replace the day's full results.
const file = join(root, 'bench/results', `${report.date.slice(0, 10)}${args.only ? '.' + args.only.replaceAll(',', '+') : ''}.json`)
writeFileSync(file, JSON.stringify(report, null, 2) + '\n')

const echoRate = Number(results.echo?.perSecond)
const echoPerCpu = perCpuOf(results.echo)
// chat_send is compared with the profile:get of its own servers (get_for_chat).
const getRateFor = (name: string) => Number((name === 'chat_send' ? results.get_for_chat : (results.get ?? results.get_for_chat))?.perSecond)
console.log('\n| scenario | round trips/s | × echo | × profile:get | per server CPU-second | × echo | latency loop | p50 ms | p99 ms | max ms | server CPU | server RSS MiB | errors |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const [name, row] of Object.entries(results)) {
  if (name.startsWith('idle_') || name === 'fixture') continue
  const cpuRate = perCpuOf(row)
  const errors = row.errors === undefined ? '' : Number(row.errors) + Number(row.lostEvents ?? 0)
  console.log(
    `| ${name} | ${row.perSecond} | ${ratio(row.perSecond, echoRate) ?? ''} | ${ratio(row.perSecond, getRateFor(name)) ?? ''} | ${cpuRate === undefined ? '' : Math.round(cpuRate)} | ${ratio(cpuRate, echoPerCpu) ?? ''} | ${row.loop ?? ''} | ${row.p50} | ${row.p99} | ${row.max} | ${row.cpu} | ${row.rssMiB} | ${errors} |`,
  )
}
for (const name of ['echo_half', 'mixed_half', 'echo_at_mixed_half']) {
  const tail = results[name]?.tail as ReturnType<typeof tailOf>
  if (!tail) continue
  const types = Object.entries(tail.byType).map(([type, t]) => `${type} ${t.count} p50 ${t.p50} p99 ${t.p99} max ${t.max} ms`).join('; ')
  console.log(`\n${name}: ${tail.over} replies over ${tail.overMs} ms in ${tail.bursts} bursts (the five largest hold ${tail.inLargestFive} of them); load generator lag p99 ${results[name]!.loadgenLagP99} ms; the server's core stolen ${results[name]!.serverCoreStealMs} ms, its main thread switched out ${results[name]!.serverInvoluntarySwitches} times (each run's p99 ${results[name]!.p99s}, steal ${results[name]!.serverCoreStealMsRuns} ms)\n  ${types}`)
}
if (results.mixed?.reconnects) {
  console.log(`\nmixed's reconnects (${results.mixed.reconnects}, closed loop): handshake to profile:auth reply p50 ${results.mixed.reconnectP50} ms, p99 ${results.mixed.reconnectP99} ms`)
}
for (const kind of ['echo', 'hafnium']) {
  const row = results[`idle_${kind}`]
  if (row) console.log(`\nidle ${kind}: ${row.connections} connections, ${row.bytesPerConnection} bytes each (RSS ${row.rssMiB} MiB)`)
}
console.log('\ntargets:')
for (const [name, value] of Object.entries(targets)) console.log(`  ${name}: ${value ?? 'not measured'}`)
if (results.fixture) console.log(`\nfixture: ${results.fixture.accounts} accounts built in ${results.fixture.buildSeconds} s`)
console.log(`load average (1 min): ${report.loadAverage.before} before, ${report.loadAverage.after} after, on ${cpus().length} cores`)
console.log(`\nwrote ${file.slice(root.length)} in ${report.elapsedSeconds} s`)
if (failed.length > 0) {
  console.log(`\nFAILED: scenarios with errors: ${failed.map(([name, row]) => `${name} (${Number(row.errors ?? 0) + Number(row.lostEvents ?? 0)})`).join(', ')}`)
  process.exitCode = 1
}
