// Three `hafnium serve` processes on one PostgreSQL database racing each other (issue 17): one username
// registered 50 times at once over the three nodes makes one account; codes queued on all three nodes,
// each node's outbox sender polling the shared table, reach a real SMTP server once each.
// Checked against a broken schema: without the UNIQUE constraints on accounts.username and accounts.user_id
// (the user ID embeds the username, so either one alone decides the race) 47 of the 50 registrations succeed.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { storedRows } from '../support/engine.ts'
import { startSmtpSink, type SmtpSink } from '../support/smtp.ts'
import { clusterOnly, clusterUnavailable, startCluster, type TestCluster, type TestNode } from '../support/nodes.ts'

const unavailable = clusterUnavailable()
const password = 'balcony-scene-2'

const test = suite<{ cluster: TestCluster; nodes: TestNode[]; smtp: SmtpSink }>('three nodes racing')

test.before(async (ctx) => {
  if (unavailable) return
  // Each mail takes 30 ms: the senders' sends overlap.
  ctx.smtp = await startSmtpSink({ delayMs: 30 })
  ctx.cluster = await startCluster(3, {
    config: {
      delivery: {
        email: { transport: 'smtp', host: '127.0.0.1', port: ctx.smtp.port, secure: false, from: 'Hafnium <noreply@example.org>' },
        // Every sender looks at the shared table every 20 ms: three of them contend for each row.
        pollMs: 20,
      },
    },
  })
  ctx.nodes = ctx.cluster.nodes
})
test.after(async (ctx) => {
  await ctx.cluster?.close()
  await ctx.smtp?.close()
})


clusterOnly(test, '50 parallel registrations of one username over 3 nodes: exactly 1 account, 49 id_exists', async ({ cluster, nodes }) => {
  const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => nodes[i % 3]!.connect()))
  const replies = await Promise.all(clients.map((client) => client.request('profile:register', { username: 'rosaline', password, loginOnSuccess: false }, {}, { timeoutMs: 60_000 })))
  const ok = replies.filter((reply) => reply.ok)
  const taken = replies.filter((reply) => reply.payload?.errID === 'id_exists')
  assert.is(ok.length, 1, JSON.stringify(replies.filter((reply) => !reply.ok && reply.payload?.errID !== 'id_exists').slice(0, 3)))
  assert.is(taken.length, 49)
  const rows = await storedRows({ database: { path: '', url: cluster.database.url } }, 'SELECT id FROM accounts WHERE username = ?', ['rosaline'])
  assert.is(rows.length, 1)
  // Whichever node served the winner, each node now knows the name.
  for (const node of nodes) {
    const check = await (await node.connect()).request('profile:check_username', { username: 'rosaline' })
    assert.is(check.payload.available, false, `${node.name}: ${JSON.stringify(check)}`)
  }
})

clusterOnly(test, 'codes queued on 3 nodes, all 3 senders polling the shared outbox: each message reaches SMTP once', async ({ cluster, nodes, smtp }) => {
  const count = 60
  const addresses = Array.from({ length: count }, (_, i) => `guest${i}@example.org`)
  const clients = await Promise.all(nodes.map((node) => node.connect()))
  const replies = await Promise.all(
    addresses.map((address, i) => clients[i % 3]!.request('verification:request', { purpose: 'signup', thirdPID: `email:${address}` }, {}, { timeoutMs: 60_000 })),
  )
  assert.ok(replies.every((reply) => reply.ok), JSON.stringify(replies.find((reply) => !reply.ok)))
  await smtp.until(count, 60_000)
  // Time for a duplicate to show: many poll rounds of every sender, and past the sends in flight.
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  const perAddress = new Map<string, number>()
  for (const mail of smtp.mails) for (const to of mail.to) perAddress.set(to, (perAddress.get(to) ?? 0) + 1)
  const twice = [...perAddress].filter(([, n]) => n > 1)
  assert.equal(twice, [], 'no address got its code twice')
  assert.equal([...perAddress.keys()].sort(), [...addresses].sort())
  const left = await storedRows({ database: { path: '', url: cluster.database.url } }, 'SELECT id FROM outbox')
  assert.is(left.length, 0, 'every sent message left the outbox')
})

test.run()
