// kill -9 of a real `hafnium serve` in the middle of concurrent registrations: every acknowledged
// account must be there after a restart, and SQLite's integrity check must pass.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from '../../src/store/driver.ts'
import { connect, type TestClient } from '../support/client.ts'
import { runCli } from '../support/process.ts'

export interface CrashCycle {
  acknowledged: number
  lost: number
  integrity: string
}

/** One cycle: `count` registrations over `sockets` connections, SIGKILL after `killAfter` acknowledgements. */
export async function crashDuringRegistrations(
  dir: string,
  cycle: number,
  options: { count: number; sockets: number; killAfter: number },
): Promise<CrashCycle> {
  const config = join(dir, 'crash.config.json')
  writeFileSync(config, JSON.stringify({ ratelimit: { enabled: false }, log: { level: 'warn' }, password: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } }, server: { authTimeoutMs: 600000 }, limits: { maxAnonymousPerIP: 100000, maxConnectionsPerIP: 100000 } }))
  const db = join(dir, 'crash.db')
  const server = runCli(['serve', '--config', config, '--port', '0', '--db', db])
  const url = await server.ready
  const clients: TestClient[] = await Promise.all(Array.from({ length: options.sockets }, () => connect(url)))
  const acknowledged: string[] = []
  let killed = false
  const sent = Array.from({ length: options.count }, (_, i) => {
    const username = `c${cycle}-${i}`
    return clients[i % clients.length]!
      .request('profile:register', { username, password: `river-stone-${cycle}-${i}-x` })
      .then((reply) => {
        if (reply.ok) acknowledged.push(username)
        if (!killed && acknowledged.length >= options.killAfter) {
          killed = true
          server.child.kill('SIGKILL')
        }
      })
  })
  // Replies after the kill never come: wait for the process, not for every request.
  await server.exited
  void Promise.allSettled(sent)
  for (const client of clients) client.terminate()

  const check = new Database(db, { readonly: true })
  const integrity = check.pragma('integrity_check', { simple: true }) as string
  check.close()
  // The restarted server answers for each acknowledged name: it must be taken.
  const restarted = runCli(['serve', '--config', config, '--port', '0', '--db', db])
  const probe = await connect(await restarted.ready)
  let lost = 0
  for (const username of acknowledged) {
    const reply = await probe.request('profile:check_username', { username })
    if (reply.payload.available !== false) lost++
  }
  probe.terminate()
  restarted.child.kill('SIGTERM')
  await restarted.exited
  return { acknowledged: acknowledged.length, lost, integrity }
}
