// Set-up shared by the chat example's test files (chat.test.ts, chat-restart.test.ts): the example's own config
// file on a port of its own, four registered users, and requests whose replies must come in time.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig } from '../../src/config.ts'
import { startServer, type HafniumServer } from '../../src/server.ts'
import { connect, type TestClient } from '../support/client.ts'
import { within } from '../support/within.ts'
import { extensionDir, probeExtension } from '../extensions/support.ts'

export const exampleConfig = fileURLToPath(new URL('../../examples/chat/server.config.json', import.meta.url))
export const password = 'balcony-scene-2'

export interface Ctx {
  dir: string
  probe: string
  server: HafniumServer
  clients: TestClient[]
  tokens: Record<string, string>
}

/** A suite whose before() starts the example (start) with juliet, romeo, mercutio and benvolio registered; after() tears it down. */
export function chatSuite(name: string) {
  const test = suite<Ctx>(name)
  test.before(async (ctx) => {
    ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-chat-'))
    ctx.probe = extensionDir().write('probe.mjs', probeExtension)
    ctx.clients = []
    ctx.tokens = {}
    ctx.server = await start(ctx)
    const c = await open(ctx)
    for (const username of ['juliet', 'romeo', 'mercutio', 'benvolio']) await ask(c, 'profile:register', { username, password, loginOnSuccess: false })
  })
  test.after(async (ctx) => {
    await stop(ctx)
    delete process.env.HAFNIUM_CHAT_DB
    rmSync(ctx.dir, { recursive: true, force: true })
  })
  return test
}

/** The example's config file, on a port of its own, with this suite's database files and cheap argon2. */
export async function start(ctx: Ctx, chatFile = join(ctx.dir, 'chat.db')): Promise<HafniumServer> {
  process.env.HAFNIUM_CHAT_DB = chatFile
  const config = loadConfig({
    file: exampleConfig,
    overrides: {
      server: { port: 0 },
      database: { path: join(ctx.dir, 'hafnium.db') },
      password: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } },
      log: { level: 'silent' },
    },
  })
  // The probe extension alongside: its probe:crash throws a plain Error.
  return startServer({ ...config, extensions: [...config.extensions, ctx.probe] })
}

/** Ends every test client's connection, then the server (a restart's first half). */
export async function stop(ctx: Ctx): Promise<void> {
  for (const client of ctx.clients) client.terminate()
  await ctx.server.close()
}

export async function open(ctx: Ctx): Promise<TestClient> {
  const client = await within(connect(ctx.server.url), 5000, 'a connection')
  ctx.clients.push(client)
  return client
}

/** A request whose reply must come within 5 s. */
export const request = (client: TestClient, type: string, payload: object = {}) => within(client.request(type, payload), 5000, `the reply to ${type}`)

/** A request that must succeed; resolves with its payload. */
export async function ask(client: TestClient, type: string, payload: object = {}): Promise<any> {
  const reply = await request(client, type, payload)
  assert.ok(reply.ok, JSON.stringify(reply))
  return reply.payload
}

/** A new device of `username` on a new connection. */
export async function device(ctx: Ctx, username: string): Promise<TestClient> {
  const client = await open(ctx)
  const { authToken } = await ask(client, 'profile:login', { username, password })
  ctx.tokens[username] = authToken
  return client
}

export const juliet = '@juliet@localhost'
export const romeo = '@romeo@localhost'
export const mercutio = '@mercutio@localhost'
