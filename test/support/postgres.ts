// A PostgreSQL for tests: HAFNIUM_TEST_POSTGRES_URL when set, else a throwaway cluster on loopback
// (initdb in a temporary directory, run as the `postgres` user because the server refuses root).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export interface TestPostgres {
  url: string
  /** Stops a cluster this helper started (a given URL is left alone). */
  stop(): Promise<void>
}

/** Where initdb/postgres are: PATH, or Debian's /usr/lib/postgresql/<major>/bin (newest first). */
function postgresBin(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim()
  if (onPath) return join(onPath, '..')
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const majors = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin/initdb'))).sort((a, b) => Number(b) - Number(a))
  return majors[0] && join(root, majors[0], 'bin')
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (process.env.HAFNIUM_TEST_POSTGRES_URL) return undefined
  if (!postgresBin()) return 'PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin) and HAFNIUM_TEST_POSTGRES_URL is not set'
  return undefined
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Connects until it works, for at most `ms`; fails saying what it waited for. */
async function waitForConnection(url: string, ms: number, server?: ChildProcess, log?: () => string): Promise<void> {
  const deadline = Date.now() + ms
  let last: unknown
  while (Date.now() < deadline) {
    if (server && server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode} before accepting connections:\n${log?.()}`)
    const client = new pg.Client({ connectionString: url })
    try {
      await client.connect()
      await client.end()
      return
    } catch (err) {
      last = err
      await client.end().catch(() => {})
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error(`PostgreSQL at ${url} did not accept connections within ${ms} ms: ${String(last)}\n${log?.() ?? ''}`)
}

/**
 * A database to test against. With HAFNIUM_TEST_POSTGRES_URL, that one; otherwise a fresh cluster
 * (fsync off: nothing in it outlives the test) that `stop()` shuts down and deletes.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const given = process.env.HAFNIUM_TEST_POSTGRES_URL
  if (given) {
    await waitForConnection(given, 10_000)
    return { url: given, stop: async () => {} }
  }
  const bin = postgresBin()
  if (!bin) throw new Error(postgresUnavailable())
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-pg-'))
  const data = join(dir, 'data')
  // The server refuses to run as root: the cluster belongs to `postgres` when we are root.
  const asRoot = userInfo().uid === 0
  const run = (args: string[]) => (asRoot ? ['runuser', '-u', 'postgres', '--', ...args] : args)
  if (asRoot) {
    const { uid, gid } = postgresIds()
    chownSync(dir, uid, gid)
    chmodSync(dir, 0o700)
  }
  const [initCmd, ...initArgs] = run([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'])
  const init = spawnSync(initCmd!, initArgs, { encoding: 'utf8' })
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed (${init.status}): ${init.stderr}`)
  }
  const port = await freePort()
  const [cmd, ...args] = run([
    join(bin, 'postgres'),
    '-D', data,
    '-p', String(port),
    '-k', dir,
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
  ])
  const server = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let output = ''
  server.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGINT') // fast shutdown
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitForConnection(url, 20_000, server, () => output)
  } catch (err) {
    await stop()
    throw err
  }
  return { url, stop }
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
  const uid = id('-u')
  const gid = id('-g')
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('running as root, but there is no `postgres` user to own the test cluster')
  return { uid, gid }
}
