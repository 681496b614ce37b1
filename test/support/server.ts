// Starts a real server on an ephemeral port with a fresh database (a SQLite file, or a PostgreSQL database
// under HAFNIUM_TEST_ENGINE=postgres: see engine.ts), for protocol tests.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type DeepPartial } from '../../src/config.ts'
import { startServer, type HafniumServer, type ServerOptions } from '../../src/server.ts'
import type { Config } from '../../src/types/schemas.ts'
import type { Clock } from '../../src/rate-limit.ts'
import { connect, type ConnectOptions, type TestClient } from './client.ts'
import { pino } from 'pino'
import { createLogger } from '../../src/log.ts'
import { createTestDatabase, testEngine } from './engine.ts'

export interface TestServer {
  server: HafniumServer
  url: string
  config: Readonly<Config>
  dir: string
  connect(options?: ConnectOptions): Promise<TestClient>
  close(): Promise<void>
}

/**
 * Cheap argon2, no rate limits, no per-IP connection caps (every test client is 127.0.0.1) and a long
 * auth deadline unless a test asks for them; everything else as shipped.
 */
export const testDefaults: DeepPartial<Config> = {
  server: { port: 0, authTimeoutMs: 600_000 },
  limits: { maxConnectionsPerIP: 1_000_000, maxAnonymousPerIP: 1_000_000 },
  password: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } },
  ratelimit: { enabled: false },
  log: { level: 'silent' },
}

export async function startTestServer(
  overrides: DeepPartial<Config> = {},
  options: {
    clock?: Clock
    dir?: string
    /** write the server's log lines here (synchronously) */
    logFile?: string
    /** replace the configured code transports */
    transports?: ServerOptions['transports']
    /** the cluster bus (tests of what other nodes publish and hear) */
    bus?: ServerOptions['bus']
  } = {},
): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hafnium-test-'))
  const database = testEngine === 'postgres' ? await createTestDatabase(options.dir) : undefined
  const engineDefaults = merge(testDefaults, { database: { path: join(dir, 'hafnium.db'), ...(database && { url: database.url }) } })
  const config = loadConfig({ overrides: merge(engineDefaults, overrides) })
  const destination = options.logFile ? pino.destination({ dest: options.logFile, sync: true }) : undefined
  let server: HafniumServer
  try {
    server = await startServer(config, { clock: options.clock, transports: options.transports, bus: options.bus, logger: createLogger(config.log.level, destination) })
  } catch (error) {
    await database?.drop()
    throw error
  }
  const clients: TestClient[] = []
  // Where each open server was started, for the runner to name one a test left open (scripts/run-tests.mjs).
  const where = new Error().stack?.split('\n').find((line) => line.includes('.test.ts'))?.trim().replace(/^at /, '') ?? 'in an unknown test'
  const open = ((globalThis as { hafniumOpenTestServers?: Set<{ where: string }> }).hafniumOpenTestServers ??= new Set())
  const entry = { where }
  open.add(entry)
  return {
    server,
    url: server.url,
    config,
    dir,
    async connect(connectOptions) {
      const client = await connect(server.url, connectOptions)
      clients.push(client)
      return client
    },
    async close() {
      open.delete(entry)
      for (const client of clients) client.terminate()
      await server.close()
      await database?.drop()
      if (!options.dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

function merge<T extends object>(a: T, b: object): T {
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) }
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k]
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v) ? merge(cur as object, v) : v
  }
  return out as T
}

/** A hand-driven clock: time is an argument, not a sleep. */
export function manualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = start
  return {
    now: () => now,
    advance(ms) {
      now += ms
    },
    set(ms) {
      now = ms
    },
  }
}
