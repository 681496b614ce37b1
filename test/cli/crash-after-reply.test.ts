// Group commit must not acknowledge before it commits: kill -9 the server the moment replies arrive, and
// every write that was answered is in the database file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { openStore } from '../../src/store/index.ts'
import { connect, type TestClient } from '../support/client.ts'
import { runCli } from '../support/process.ts'
import { within } from '../support/within.ts'

const test = suite<{ dir: string; config: string }>('group commit: a reply never leaves before its commit')

test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-crash-'))
  ctx.config = join(ctx.dir, 'test.config.json')
  writeFileSync(
    ctx.config,
    JSON.stringify({ password: { argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 } }, log: { level: 'warn' }, ratelimit: { enabled: false } }),
  )
})
test.after(({ dir }) => rmSync(dir, { recursive: true, force: true }))

test('kill -9 as profile:update replies arrive: every acknowledged update is in the file after the crash', async ({ dir, config }) => {
  const db = join(dir, 'crash.db')
  const server = runCli(['serve', '--config', config, '--port', '0', '--db', db])
  const url = await within(server.ready, 20_000, 'the server to listen')
  const clients: TestClient[] = []
  const names: string[] = []
  for (let i = 0; i < 6; i++) {
    const client = await connect(url)
    const reg = await client.request('profile:register', { username: `crash${i}`, password: `tulip-harbour-crash-${i}`, loginOnSuccess: true })
    assert.ok(reg.ok, JSON.stringify(reg.payload))
    clients.push(client)
    names.push(`crash${i}`)
  }
  // Many rounds of concurrent updates; the server dies at the first reply of the last round, so later
  // replies of that round (committed in the same batch or not at all) are whatever made it out.
  const acknowledged = new Map<string, number>()
  for (let round = 1; round <= 5; round++) {
    const last = round === 5
    let killed = false
    await Promise.allSettled(
      clients.map((client, i) =>
        client.request('profile:update', { nickname: `round-${round}` }, undefined, { timeoutMs: 5000 }).then((reply) => {
          if (killed) return
          if (reply.ok) acknowledged.set(names[i]!, round)
          if (last) {
            killed = true
            server.child.kill('SIGKILL')
          }
        }),
      ),
    )
  }
  assert.is((await within(server.exited, 10_000, 'the killed server to exit')).signal, 'SIGKILL')
  clients.forEach((c) => c.terminate())
  assert.ok([...acknowledged.values()].includes(5), 'at least one update of the last round was acknowledged before the kill')

  const store = openStore(db, { synchronous: 'normal', busyTimeoutMs: 1000, lock: false })
  try {
    for (const [name, round] of acknowledged) {
      const account = await store.accounts.byUsername(name)
      const stored = Number(String(account?.profile.nickname ?? 'round-0').slice('round-'.length))
      assert.ok(stored >= round, `${name}: acknowledged round ${round}, the file holds ${account?.profile.nickname}`)
    }
  } finally {
    store.close()
  }
})

test.run()
