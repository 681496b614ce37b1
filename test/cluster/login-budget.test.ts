// Issue 17's test of exact shared rate limits: three `hafnium serve` processes (test/support/nodes.ts) on
// one PostgreSQL database, 1,000 wrong passwords for one account spread round robin over them; no more get
// past login_account than one node alone allows. PostgreSQL pass only (.ci/run's regex).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { TestClient } from '../support/client.ts'
import { register } from '../support/accounts.ts'
import { clusterOnly, clusterUnavailable, startCluster, type TestCluster } from '../support/nodes.ts'
import { within } from '../support/within.ts'

const capacity = 10
const guesses = 1000

const test = suite<{ cluster?: TestCluster; clients: TestClient[] }>('login_account across three nodes')

test.before(async (ctx) => {
  ctx.clients = []
  if (clusterUnavailable()) return
  const plenty = { capacity: 1_000_000, refillPerSecond: 1000 }
  ctx.cluster = await startCluster(3, {
    config: {
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
    },
  })
  for (const node of ctx.cluster.nodes) ctx.clients.push(await node.connect())
})

test.after(async (ctx) => {
  await ctx.cluster?.close()
})

clusterOnly(test, `${guesses} wrong passwords spread over three nodes: exactly ${capacity} get past login_account, as on one node`, async ({ clients, cluster }) => {
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
    throw new Error(`${error.message}; answers so far ${JSON.stringify(answers)}; the nodes said:\n${cluster!.nodes.map((n) => n.process.output()).join('\n')}`)
  })
  assert.equal(answers, { invalid_creds: capacity, ratelimit_exceed: guesses - capacity }, 'what one node alone would allow')
  // The right password is refused too now: the budget is the account's, whichever node is asked.
  for (const client of clients) {
    const reply = await client.request('profile:login', { username: 'juliet', password: 'balcony-nightingale-42' })
    assert.is(reply.payload.errID, 'ratelimit_exceed')
  }
})

test.run()
