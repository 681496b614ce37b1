// Several `hafnium serve` processes on one PostgreSQL database, as an operator runs them (issue 17): the
// installed command (bin/hafnium.js, so dist/ must be built), one fresh schema, one outbox key, each node
// on its own ephemeral port with its own server.node name. For the cluster tests; needs PostgreSQL.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'uvu'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'
import { connect, type ConnectOptions, type TestClient } from './client.ts'
import { createTestDatabase, testEngine, type TestDatabase } from './engine.ts'
import { runCli, type CliProcess } from './process.ts'
import { testDefaults } from './server.ts'
import { within } from './within.ts'

export interface TestNode {
  /** server.node */
  name: string
  /** ws://127.0.0.1:PORT/ */
  url: string
  process: CliProcess
  /** A client of this node (terminated by stop, kill and the cluster's close). */
  connect(options?: ConnectOptions): Promise<TestClient>
  /** Sends `signal` (SIGKILL: no drain, no goodbye) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
  /** SIGTERM, as a supervisor stops a node: drains and exits 0. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
}

export interface TestCluster {
  nodes: TestNode[]
  database: TestDatabase
  /** The hex outbox key every node shares (HAFNIUM_OUTBOX_KEY). */
  outboxKey: string
  dir: string
  /** One more node on the same database (a replacement, or a late joiner). */
  addNode(name?: string): Promise<TestNode>
  /** Stops every live node (SIGTERM, then SIGKILL after a bound), drops the database, removes the directory. */
  close(): Promise<void>
}

export interface ClusterOptions {
  /** Config every node gets on top of the test defaults (cheap argon2, no rate limits, no per-IP caps). */
  config?: DeepPartial<Config>
  /** Extra environment for every node. */
  env?: Record<string, string>
  /** Per node: config or environment of its own (the chat example's file, a delivery transport). */
  perNode?: (name: string, index: number) => { config?: DeepPartial<Config>; env?: Record<string, string> }
  /** Runs once the cluster's directory exists, before any node starts (files the config names). */
  prepare?: (dir: string) => void
}

/** Why the cluster tests cannot run in this pass, or undefined when they can (HAFNIUM_TEST_ENGINE=postgres). */
export function clusterUnavailable(): string | undefined {
  if (testEngine !== 'postgres') return 'several nodes need PostgreSQL: HAFNIUM_TEST_ENGINE=postgres HAFNIUM_TEST_POSTGRES_URL=…, as in .ci/run\'s PostgreSQL pass'
  return undefined
}

/** Registers `name`, or outside the PostgreSQL pass registers it as skipped with the reason (shown in the totals). */
export function clusterOnly<T>(test: Test<T>, name: string, body: Parameters<Test<T>>[1]): void {
  const reason = clusterUnavailable()
  if (reason) test.skip(`${name} [skipped: ${reason}]`, body)
  else test(name, body)
}

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The nodes run dist/: a stale build would test old code and pass or fail for the wrong reason. */
function assertBuilt(): void {
  const built = (() => {
    try {
      return statSync(join(root, 'dist/cli/entry.js')).mtimeMs
    } catch {
      return 0
    }
  })()
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)))
  const source = Math.max(newest(join(root, 'src')), newest(join(root, 'packages/client/src')))
  if (source > built) throw new Error('dist/ is older than src/: run `npm run build` (the cluster tests start bin/hafnium.js, which loads dist/)')
}

/** Starts `count` nodes named node-a, node-b, … on one fresh database; rejects (stopping what started) if one fails. */
export async function startCluster(count: number, options: ClusterOptions = {}): Promise<TestCluster> {
  assertBuilt()
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-nodes-'))
  options.prepare?.(dir)
  const database = await createTestDatabase()
  const outboxKey = randomBytes(32).toString('hex')
  const nodes: TestNode[] = []
  const live = new Set<TestNode>()
  const clients = new Map<TestNode, TestClient[]>()

  async function addNode(name = `node-${String.fromCharCode(97 + nodes.length)}`): Promise<TestNode> {
    const own = options.perNode?.(name, nodes.length) ?? {}
    const file = join(dir, `${name}.json`)
    const config = merge(merge(testDefaults as Record<string, unknown>, { server: { node: name }, database: { url: database.url, path: join(dir, `${name}.db`) }, log: { level: 'warn' } }), merge(options.config ?? {}, own.config ?? {}))
    writeFileSync(file, JSON.stringify(config))
    const process = runCli(['serve', '--config', file, '--port', '0'], { built: true, env: { HAFNIUM_OUTBOX_KEY: outboxKey, ...options.env, ...own.env } })
    const url = await within(process.ready, 30_000, `node ${name} to print its listening line`)
    const mine: TestClient[] = []
    const ended = async <T>(result: Promise<T>) => {
      for (const client of mine) client.terminate()
      live.delete(node)
      return result
    }
    const node: TestNode = {
      name,
      url,
      process,
      async connect(connectOptions) {
        const client = await connect(url, connectOptions)
        mine.push(client)
        return client
      },
      kill(signal = 'SIGKILL') {
        process.child.kill(signal)
        return ended(within(process.exited, 30_000, `node ${name} to exit after ${signal}`))
      },
      stop() {
        process.child.kill('SIGTERM')
        const timer = setTimeout(() => process.child.kill('SIGKILL'), 20_000)
        return ended(within(process.exited, 30_000, `node ${name} to exit after SIGTERM`).finally(() => clearTimeout(timer)))
      },
    }
    clients.set(node, mine)
    nodes.push(node)
    live.add(node)
    return node
  }

  const cluster: TestCluster = {
    nodes,
    database,
    outboxKey,
    dir,
    addNode,
    async close() {
      for (const mine of clients.values()) for (const client of mine) client.terminate()
      await Promise.all([...live].map((node) => node.stop().catch(() => node.kill())))
      await database.drop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    // One at a time: the first applies the migrations (the others would wait on its advisory lock anyway).
    for (let i = 0; i < count; i++) await addNode()
  } catch (error) {
    await cluster.close()
    throw error
  }
  return cluster
}

function merge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(override)) {
    const prior = out[key]
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prior && typeof prior === 'object' && !Array.isArray(prior)
        ? merge(prior as Record<string, unknown>, value as Record<string, unknown>)
        : value
  }
  return out
}
