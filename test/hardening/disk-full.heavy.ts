// Heavy tier: the database on a real 4 MiB tmpfs runs out of space (ENOSPC from the kernel, not the
// database.maxBytes quota of test/protocol/storage.test.ts). The server stays up, refuses writes with the
// documented retryable storage_busy, keeps every acknowledged account, and takes writes again once space
// returns, without a restart.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from '../../src/store/driver.ts'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { connect, type TestClient } from '../support/client.ts'
import { runCli, type CliProcess } from '../support/process.ts'
import { deadline, report, startCanary } from './support.ts'

// 4 MiB less a 1 MiB ballast: the WAL (4 KiB frames) fills the rest in a couple of hundred registrations.
const tmpfsSize = '4m'
const ballastBytes = 1024 * 1024
const writers = 8
// Writers keep knocking on the full disk this many times each, so the canary samples a server that is full.
const refusalsInARow = 25
// After space returns, more commits than the freed 1 MiB could hold as WAL frames alone (~250): without
// an eager checkpoint the WAL eats the returned space and writes stop again (see walRelief in src/store).
const lateRegistrations = 50

interface Context {
  root: string
  mountPoint: string
  mounted: boolean
  server?: CliProcess
  clients: TestClient[]
}

const test = suite<Context>('hardening (heavy): disk full on a small tmpfs')
test.before((ctx) => {
  ctx.root = mkdtempSync(join(tmpdir(), 'hafnium-disk-full-'))
  ctx.mountPoint = join(ctx.root, 'mnt')
  ctx.mounted = false
  ctx.clients = []
})
test.after(async (ctx) => {
  for (const client of ctx.clients) client.terminate()
  const child = ctx.server?.child
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL')
    await ctx.server!.exited
  }
  if (ctx.mounted) unmount(ctx.mountPoint)
  rmSync(ctx.root, { recursive: true, force: true })
})

test('ENOSPC on a 4 MiB tmpfs: storage_busy, never internal_error, acknowledged accounts intact, writes resume without a restart', async (ctx) => {
  mountTmpfs(ctx.mountPoint)
  ctx.mounted = true
  writeFileSync(join(ctx.mountPoint, 'ballast'), Buffer.alloc(ballastBytes, 1))

  const config = join(ctx.root, 'config.json')
  writeFileSync(config, JSON.stringify({ ratelimit: { enabled: false }, log: { level: 'warn' }, password: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } }, server: { authTimeoutMs: 600000 }, limits: { maxAnonymousPerIP: 100000, maxConnectionsPerIP: 100000 } }))
  const db = join(ctx.mountPoint, 'hafnium.db')
  const server = (ctx.server = runCli(['serve', '--config', config, '--port', '0', '--db', db]))
  const url = await deadline(server.ready, 15_000, 'server start')
  let died: string | undefined
  void server.exited.then((e) => (died ??= `server exited (${e.code ?? e.signal}): ${e.stderr.slice(-2000)}`))

  const canaryClient = await connect(url)
  ctx.clients.push(canaryClient)
  const canary = startCanary(canaryClient, 10)
  const clients = await Promise.all(Array.from({ length: writers }, () => connect(url)))
  ctx.clients.push(...clients)

  // Fill: each writer registers until it has been refused refusalsInARow times in a row (the disk stays full).
  const passwords = new Map<string, string>()
  const unexpected: unknown[] = []
  let refusals = 0
  let beforeFull: number | undefined
  let secondsToFull: number | undefined
  let n = 0
  const started = performance.now()
  await deadline(
    Promise.all(
      clients.map(async (c, w) => {
        for (let i = 0, inARow = 0; inARow < refusalsInARow && !died; i++) {
          const username = `fill-${w}-${i}`
          const password = `quiet-harbour-${n++}`
          const reply = await c.request('profile:register', { username, password })
          if (reply.ok) {
            passwords.set(username, password)
            inARow = 0
          } else if (reply.payload.errID === 'storage_busy') {
            assert.equal(reply.payload, { errID: 'storage_busy', errText: errors.storage_busy, errPayload: { retryAfter: 1000 } })
            beforeFull ??= passwords.size
            secondsToFull ??= (performance.now() - started) / 1000
            refusals++
            inARow++
          } else {
            unexpected.push(reply.payload)
            break
          }
        }
      }),
    ),
    60_000,
    'filling the tmpfs',
  )
  assert.is(died, undefined)
  assert.equal(unexpected, [], 'every refusal while filling is storage_busy')
  assert.ok(refusals > 0 && beforeFull !== undefined, 'the tmpfs never filled up')
  // The refusals come from the kernel's ENOSPC: nothing is left on the tmpfs.
  const { bavail, bsize } = statfsSync(ctx.mountPoint)
  assert.ok(bavail * bsize < 64 * 1024, `${bavail * bsize} bytes still free on the tmpfs`)

  // While full: reads go on, every acknowledged account is there, a login (a write) is refused cleanly.
  for (const username of passwords.keys()) {
    const reply = await canaryClient.request('profile:check_username', { username })
    assert.equal(reply.payload, { available: false }, username)
  }
  const [firstName, firstPassword] = passwords.entries().next().value!
  const loginWhileFull = await clients[0]!.request('profile:login', { username: firstName, password: firstPassword })
  assert.ok(loginWhileFull.ok || loginWhileFull.payload.errID === 'storage_busy', JSON.stringify(loginWhileFull.payload))

  // Space returns: the same server takes writes at once and keeps taking them.
  unlinkSync(join(ctx.mountPoint, 'ballast'))
  let loginsAfter = 0
  for (const [username, password] of passwords) {
    const reply = await clients[1]!.request('profile:login', { username, password })
    assert.ok(reply.ok, `login ${username} after space returned: ${JSON.stringify(reply.payload)}`)
    loginsAfter++
  }
  for (let i = 0; i < lateRegistrations; i++) {
    const reply = await clients[2]!.request('profile:register', { username: `late-${i}`, password: `quiet-harbour-${n++}` })
    assert.ok(reply.ok, `registration ${i} after space returned: ${JSON.stringify(reply.payload)}`)
  }

  const metrics = await (await fetch(url.replace('ws://', 'http://') + 'metrics')).text()
  assert.not.match(metrics, /outcome="internal_error"/)
  const rtt = await canary.stop()
  assert.is(rtt.failures, 0)
  assert.ok(rtt.count > 0)

  server.child.kill('SIGTERM')
  const end = await deadline(server.exited, 15_000, 'server shutdown')
  assert.is(end.code, 0, end.stderr.slice(-2000))
  // pino level 50+ is error/fatal: a failed handler ("handler failed") or a failed shutdown.
  const errorLines = end.stderr.split('\n').filter((line) => /"level":(5|6)\d/.test(line))
  assert.equal(errorLines, [])

  const check = new Database(db, { readonly: true })
  const integrity = check.pragma('integrity_check', { simple: true })
  const stored = check.prepare('SELECT count(*) FROM accounts').pluck().get()
  check.close()
  assert.is(integrity, 'ok')
  // Refused registrations left nothing behind.
  assert.is(stored, passwords.size + lateRegistrations)

  report('disk full (4 MiB tmpfs)', {
    accountsBeforeFull: beforeFull,
    acknowledged: passwords.size,
    refusals,
    secondsToFull,
    loginWhileFull: loginWhileFull.ok ? 'ok' : loginWhileFull.payload.errID,
    loginsAfterSpaceReturned: loginsAfter,
    registrationsAfterSpaceReturned: lateRegistrations,
    integrity,
    canarySamples: rtt.count,
    canaryP99ms: rtt.p99,
    canaryMaxMs: rtt.max,
  })
})

test.run()

function mountTmpfs(dir: string): void {
  mkdirSync(dir)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsSize},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (error) {
    const said = ((error as { stderr?: Buffer }).stderr?.toString() || (error as Error).message).replace(/\s+/g, ' ').trim()
    throw new Error(
      `this scenario needs root to mount a ${tmpfsSize} tmpfs (uid ${process.getuid?.()}; mount: ${said}). ` +
        'test/protocol/storage.test.ts covers the same SQLITE_FULL path through database.maxBytes without root.',
    )
  }
}

/** Unmounts even when something still holds the mount (a server that would not die): lazily as a fallback. */
function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' })
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
  }
}
