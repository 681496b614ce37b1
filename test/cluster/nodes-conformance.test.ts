// `hafnium conformance` against each of two `hafnium serve` processes on one PostgreSQL database (issue 17):
// every node is a whole server. Both nodes write codes to one outbox file, since either node's sender may
// send a code the other queued; the config is conformance/process.test.ts's (default rate limits but two).
import { generateKeyPairSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { clusterOnly, startCluster, type TestCluster } from '../support/nodes.ts'
import { startTestProvider } from '../support/oidc-provider.ts'
import { runCli } from '../support/process.ts'

const test = suite<{ cluster?: TestCluster; op?: Awaited<ReturnType<typeof startTestProvider>> }>('hafnium conformance against each of two nodes')

test.after(async (ctx) => {
  await ctx.cluster?.close()
  await ctx.op?.close()
})

clusterOnly(test, 'passes against node A and against node B of one database', async (ctx) => {
  const op = (ctx.op = await startTestProvider())
  const issuer = generateKeyPairSync('ed25519')
  const publicKey = issuer.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  let outbox = ''
  let keyFile = ''
  const cluster = (ctx.cluster = await startCluster(2, {
    perNode: () => ({
      config: {
        delivery: { outboxFile: outbox },
        registration: { guests: true },
        tickets: { issuers: [{ iss: 'https://cf-app.example', alg: 'EdDSA', publicKey }] },
        providers: { local: op.config() },
        // As shipped but two: the suite's 11 password attempts and its guest upgrade (conformance/process.test.ts).
        ratelimit: { enabled: true, rules: { login_account: { capacity: 20 }, register_ip: { capacity: 10 } } },
      },
    }),
    prepare: (dir) => {
      outbox = join(dir, 'outbox.jsonl')
      keyFile = join(dir, 'issuer.pem')
      writeFileSync(keyFile, issuer.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 })
    },
  }))
  const ticket = ['--ticket-iss', 'https://cf-app.example', '--ticket-alg', 'EdDSA', '--ticket-key', keyFile]
  for (const node of cluster.nodes) {
    const run = await runCli(['conformance', node.url, '--outbox', outbox, ...ticket], { built: true }).exited
    assert.is(run.code, 0, `${node.name}: ${run.stdout}${run.stderr}`)
    const summary = run.stdout.trim().split('\n').pop()!
    assert.match(summary, /^\d+ passed, 0 failed, 0 skipped$/, `${node.name}: ${summary}`)
  }
})

test.run()
