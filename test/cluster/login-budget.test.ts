// Issue 17's test of exact shared rate limits: three `hafnium serve` processes (bin/hafnium.js, so dist/:
// `npm run build` first) on one PostgreSQL database, 1,000 wrong passwords for one account spread round
// robin over them; no more get past login_account than one node alone allows. PostgreSQL pass only
// (HAFNIUM_TEST_ENGINE=postgres, .ci/run's regex). The spawn is minimal and local: the multi-node
// harness of issue 17's other tests had not landed on main when this was written.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, type TestClient } from '../support/client.ts'
import { createTestDatabase, testEngine, type TestDatabase } from '../support/engine.ts'
import { register } from '../support/accounts.ts'
import { within } from '../support/within.ts'

const root = new URL('../..', import.meta.url).pathname
const capacity = 10
const guesses = 1000

interface Node {
  child: ChildProcess
  url: string
  output: () => string
}

interface Context {
  dir: string
  database: TestDatabase
  nodes: Node[]
  clients: TestClient[]
}

const test = suite<Context>('login_account across three nodes')

/** Starts `hafnium serve` on its own port; fails naming the node and its output if it does not listen within 30 s. */
function startNode(name: string, configFile: string, env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, [join(root, 'bin/hafnium.js'), 'serve', '--config', configFile, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let out = ''
  child.stdout!.on('data', (chunk) => (out += chunk))
  child.stderr!.on('data', (chunk) => (out += chunk))
  const listening = new Promise<Node>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /listening on (ws:\/\/\S+)/.exec(out)
      if (match) resolve({ child, url: match[1]!, output: () => out })
    })
    child.once('exit', (code) => reject(new Error(`node ${name} exited (${code}) before listening:\n${out}`)))
  })
  return within(listening, 30_000, `node ${name} listening`).catch((error: Error) => {
    child.kill('SIGKILL')
    throw new Error(`${error.message}\n${out}`)
  })
}

test.before(async (ctx) => {
  ctx.nodes = []
  ctx.clients = []
  if (testEngine !== 'postgres') return
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-login-budget-'))
  ctx.database = await createTestDatabase()
  const configFile = join(ctx.dir, 'server.config.json')
  const plenty = { capacity: 1_000_000, refillPerSecond: 1000 }
  writeFileSync(
    configFile,
    JSON.stringify({
      log: { level: 'warn' },
      database: { url: ctx.database.url, path: join(ctx.dir, 'hafnium.db') },
      // Only the account's bucket may refuse here: the per-connection and per-address rules (per node
      // by design) are raised, and the backoff (exact on the account row, a separate test) is off.
      ratelimit: {
        enabled: true,
        rules: {
          messages: { subject: 'connection', types: ['*'], ...plenty },
          login_ip: { subject: 'ip', types: ['profile:login', 'profile:auth', 'profile:sudo'], ...plenty },
          // The shipped capacity (10); the refill slowed from 1 per 10 s so the allowed count is a number.
          login_account: { subject: 'account', capacity, refillPerSecond: 0.0001 },
        },
      },
      sessions: { loginBackoff: { freeFailures: 1_000_000 } },
      // The guessing sockets never sign in: not closed after the default 10 s on a loaded machine.
      server: { authTimeoutMs: 600_000 },
    }),
  )
  const env = { HAFNIUM_OUTBOX_KEY: randomBytes(32).toString('hex') }
  // One after the other: the first migrates, the others find the schema (the advisory lock is tested elsewhere).
  for (const name of ['a', 'b', 'c']) ctx.nodes.push(await startNode(name, configFile, env))
  for (const node of ctx.nodes) ctx.clients.push(await connect(node.url))
})

test.after(async (ctx) => {
  for (const client of ctx.clients) client.close()
  await Promise.all(
    ctx.nodes.map(
      (node) =>
        new Promise<void>((done) => {
          if (node.child.exitCode !== null) return done()
          node.child.once('exit', () => done())
          node.child.kill('SIGTERM')
          setTimeout(() => node.child.kill('SIGKILL'), 10_000).unref()
        }),
    ),
  )
  await ctx.database?.drop()
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true })
})

const run = testEngine === 'postgres' ? test : test.skip
run(`${guesses} wrong passwords spread over three nodes: exactly ${capacity} get past login_account, as on one node`, async ({ clients, nodes }) => {
  await register(clients[0]!, { username: 'juliet', password: 'balcony-nightingale-42' })
  const answers: Record<string, number> = {}
  // Ten in flight per node (under limits.maxQueuedPerConnection), round robin.
  let next = 0
  const worker = async (w: number) => {
    for (let i = next++; i < guesses; i = next++) {
      const client = clients[(i + w) % 3]!
      const reply = await client.request('profile:login', { username: 'juliet', password: `wrong-guess-${i}` })
      const key = reply.ok ? 'ok' : reply.payload.errID
      answers[key] = (answers[key] ?? 0) + 1
    }
  }
  await within(Promise.all(Array.from({ length: 30 }, (_, w) => worker(w))), 120_000, `${guesses} login replies`).catch((error: Error) => {
    throw new Error(`${error.message}; answers so far ${JSON.stringify(answers)}; the nodes said:\n${nodes.map((n) => n.output()).join('\n')}`)
  })
  assert.equal(answers, { invalid_creds: capacity, ratelimit_exceed: guesses - capacity }, 'what one node alone would allow')
  // The right password is refused too now: the budget is the account's, whichever node is asked.
  for (const client of clients) {
    const reply = await client.request('profile:login', { username: 'juliet', password: 'balcony-nightingale-42' })
    assert.is(reply.payload.errID, 'ratelimit_exceed')
  }
})

test.run()
