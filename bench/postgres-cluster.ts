// The PostgreSQL side of `npm run bench -- --postgres`: a throwaway cluster with the production commit
// setting, the 100,000-account fixture loaded into it, Hafnium nodes on it, and CPU/affinity of process trees.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { fixtureHash, fixturePassword, profileOf, type Fixture } from './fixture.ts'
import { formatUserID } from '../src/identifiers.ts'
import { serverNodeFlags } from './node-flags.ts'
import { hasTaskset, pinned, startProcess, type ServerProcess } from './processes.ts'

const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100

export interface Cluster {
  /** The bench database's URL (synchronous_commit = on for every session). */
  url: string
  /** The postmaster: its backends are its children. */
  pid: number
  synchronousCommit: string
  stop(): void
}

/**
 * scripts/pg-test-cluster.sh starts the cluster (the same throwaway set-up as the tests) with
 * synchronous_commit=off on its command line, which suits tests but not a benchmark: the bench's own
 * database gets `ALTER DATABASE … SET synchronous_commit = on` (a per-database setting overrides the
 * command line), so each commit waits for its WAL flush as in production, and the value every session
 * sees is read back and reported.
 */
export async function startCluster(root: string, cpu: string): Promise<Cluster> {
  const [command, ...rest] = pinned(['bash', join(root, 'scripts/pg-test-cluster.sh'), 'start'], cpu)
  const started = spawnSync(command!, rest, { encoding: 'utf8' })
  if (started.status !== 0) throw new Error(`scripts/pg-test-cluster.sh start failed: ${started.stderr}`)
  const env = Object.fromEntries(started.stdout.trim().split('\n').map((line) => line.replace(/^export /, '').split(/=(.*)/s).slice(0, 2) as [string, string]))
  const adminURL = env.HAFNIUM_TEST_POSTGRES_URL!
  const dir = env.HAFNIUM_PG_DIR!
  const stop = () => void spawnSync('bash', [join(root, 'scripts/pg-test-cluster.sh'), 'stop', dir])
  try {
    const admin = new pg.Client({ connectionString: adminURL })
    await admin.connect()
    await admin.query('CREATE DATABASE hafnium_bench')
    await admin.query('ALTER DATABASE hafnium_bench SET synchronous_commit = on')
    await admin.end()
    const url = new URL(adminURL)
    url.pathname = '/hafnium_bench'
    const check = new pg.Client({ connectionString: url.toString() })
    await check.connect()
    const synchronousCommit = (await check.query('SHOW synchronous_commit')).rows[0].synchronous_commit as string
    await check.end()
    const pid = Number(readFileSync(join(dir, 'data/postmaster.pid'), 'utf8').split('\n')[0])
    return { url: url.toString(), pid, synchronousCommit, stop }
  } catch (error) {
    stop()
    throw error
  }
}

/**
 * The fixture of the SQLite bench (bench/fixture.ts: the same usernames, profiles, verified emails and
 * argon2id hash) inserted into the schema node A created, 10,000 rows per statement.
 */
export async function loadFixture(url: string, count: number, domain = 'localhost'): Promise<Fixture> {
  const passwordHash = await fixtureHash()
  const username = (i: number) => `user${i}`
  const userID = (i: number) => formatUserID(username(i), domain)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const now = Date.now()
    await client.query('BEGIN')
    for (let from = 0; from < count; from += 10_000) {
      const ids: string[] = []
      const names: string[] = []
      const userIDs: string[] = []
      const profiles: string[] = []
      const created: number[] = []
      const emails: string[] = []
      for (let i = from; i < Math.min(count, from + 10_000); i++) {
        ids.push(`fixture${String(i).padStart(9, '0')}`)
        names.push(username(i))
        userIDs.push(userID(i))
        profiles.push(JSON.stringify(profileOf(i)))
        created.push(now - (count - i) * 60_000)
        emails.push(`${username(i)}@mail.example.org`)
      }
      await client.query(
        `INSERT INTO accounts (id, username, user_id, password_hash, status, profile, guest, created_at, updated_at)
         SELECT id, name, uid, $5, 'active', profile, 0, at, at FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::bigint[]) AS t(id, name, uid, profile, at)`,
        [ids, names, userIDs, profiles, passwordHash, created],
      )
      await client.query(
        `INSERT INTO thirdpids (medium, address, account_id, verified, added_at)
         SELECT 'email', address, id, 1, at FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(address, id, at)`,
        [emails, ids, created],
      )
    }
    await client.query('COMMIT')
    await client.query('ANALYZE accounts')
    await client.query('ANALYZE thirdpids')
  } finally {
    await client.end()
  }
  return { path: url, count, password: fixturePassword, username, userID }
}

export type Node = ServerProcess & { name: string }
export interface NodeSpec {
  name: string
  /** password.maxConcurrentHashes; bench.config.json's (the server default) when absent. */
  hashes?: number
}

/**
 * Hafnium nodes on one database: bench.config.json (every limit it raises) plus database.url and a
 * server.node name each, and `hashes` (password.maxConcurrentHashes) where given; one outbox key file for
 * all of them (the first node creates it). The pool stays at its default size (database.poolSize 10).
 * `add` starts one more on the same database and key (on `cpu` unless given); its own stop takes it out of
 * the group's.
 */
export async function startNodes(
  root: string,
  url: string,
  specs: NodeSpec[],
  cpu: string,
  cpuProf?: string,
): Promise<{ nodes: Node[]; add(spec: NodeSpec, cpu?: string): Promise<Node>; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-bench-pg-'))
  const base = JSON.parse(readFileSync(join(root, 'bench/bench.config.json'), 'utf8'))
  const flags = serverNodeFlags(root)
  const running = new Set<Node>()
  const stop = async () => {
    await Promise.all([...running].map((n) => n.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  const add = async ({ name, hashes }: NodeSpec, on = cpu): Promise<Node> => {
    const config = join(dir, `${name}.config.json`)
    const password = hashes === undefined ? base.password : { ...base.password, maxConcurrentHashes: hashes }
    writeFileSync(config, JSON.stringify({ ...base, password, database: { url, path: join(dir, 'outbox.db') }, server: { ...base.server, node: name } }))
    const prof = cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf, '--cpu-prof-name', `hafnium-${name}-${Date.now()}.cpuprofile`] : []
    const started = await startProcess([process.execPath, ...flags, ...prof, join(root, 'bin/hafnium.js'), 'serve', '--config', config, '--port', '0'], on)
    const node: Node = { ...started, name, stop: () => (running.delete(node), started.stop()) }
    running.add(node)
    return node
  }
  const nodes: Node[] = []
  try {
    // One after the other: the first migrates the schema and writes the outbox key the others read.
    for (const spec of specs) nodes.push(await add(spec))
  } catch (error) {
    await stop()
    throw error
  }
  return { nodes, add, stop }
}

function stat(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  } catch {
    return undefined // it exited meanwhile
  }
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((child) => Number(stat(child)?.[1]) === pid)
}

/**
 * CPU seconds of PostgreSQL: the postmaster, its live backends and background processes, and (cutime,
 * cstime) the children that already exited.
 */
export function clusterCpuSeconds(postmaster: number): number {
  const ticks = (fields: string[] | undefined) => (fields ? Number(fields[11]) + Number(fields[12]) : 0)
  const own = stat(postmaster)!
  const exited = Number(own[13]) + Number(own[14])
  return (ticks(own) + exited + childrenOf(postmaster).reduce((sum, pid) => sum + ticks(stat(pid)), 0)) / ticksPerSecond
}

/** Moves a running process and every thread of it (and, for the postmaster, its children) to `cpu`. */
export function repin(cpu: string, pids: number[], postmaster?: number): void {
  if (!hasTaskset) return
  for (const pid of [...pids, ...(postmaster ? [postmaster, ...childrenOf(postmaster)] : [])]) spawnSync('taskset', ['-a', '-p', '-c', cpu, String(pid)])
}
