// `hafnium backup` copies a live database under write load; `hafnium restore` brings it back and refuses a database in use.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from '../../src/store/driver.ts'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'
import { sqliteOnly } from '../support/engine.ts'
import type { TestClient } from '../support/client.ts'
import { root, run, type Run } from '../package/support.ts'

const entry = join(root, 'src/cli/entry.ts')

/** The CLI from source, as `npx hafnium` runs it; fails if it takes longer than 60 s. */
function hafnium(args: string[]): Promise<Run> {
  return run(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, timeoutMs: 60_000 })
}

/** A request that fails the test, saying what it sent, if no reply comes within 10 s. */
function request(client: TestClient, type: string, payload: unknown) {
  return Promise.race([
    client.request(type, payload),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no reply to ${type} within 10 s`)), 10_000).unref()),
  ])
}

const passwordOf = (username: string) => `night-${username.length}-${username.slice(4)}-verona`

const test = suite<{ dir: string }>('hafnium backup and restore')

test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-backup-'))
})
test.after(({ dir }) => rmSync(dir, { recursive: true, force: true }))

sqliteOnly(test, 'a backup taken during a write load restores every account acknowledged before it began, and they log in', async ({ dir }) => {
  const live = join(dir, 'live')
  const t: TestServer = await startTestServer({}, { dir: live })
  const acknowledged: string[] = []
  let stop = false
  let backupStarted = false
  const before: string[] = []
  const writers = await Promise.all([0, 1, 2, 3].map(() => t.connect()))
  let n = 0
  const load = writers.map(async (client) => {
    while (!stop) {
      const username = `user${n++}`
      const reply = await request(client, 'profile:register', { username, password: passwordOf(username) })
      if (!reply.ok) throw new Error(`registration of ${username} failed: ${JSON.stringify(reply)}`)
      acknowledged.push(username)
      if (!backupStarted) before.push(username)
    }
  })
  const loaded = Promise.all(load)
  loaded.catch(() => {}) // awaited below; a failure must not crash the process before that
  let restored: TestServer | undefined
  try {
    const waitUntil = Date.now() + 30_000
    while (acknowledged.length < 40) {
      if (Date.now() > waitUntil) throw new Error(`only ${acknowledged.length} registrations acknowledged after 30 s`)
      await Promise.race([loaded, new Promise((resolve) => setTimeout(resolve, 20))]) // a failed writer fails the test here
    }
    backupStarted = true
    const startedWith = acknowledged.length
    const out = join(dir, 'backups/hafnium-1.db')
    const backup = await hafnium(['backup', '--db', join(live, 'hafnium.db'), out])
    stop = true
    await loaded
    assert.is(backup.code, 0, backup.stderr)
    assert.match(backup.stdout, /integrity ok\), key to .*hafnium-1\.db\.key/, backup.stdout)
    assert.ok(acknowledged.length > startedWith, `the load kept writing during the backup (${startedWith} → ${acknowledged.length})`)
    assert.is(statSync(out).mode & 0o777, 0o600)
    assert.is(statSync(`${out}.key`).mode & 0o777, 0o600)

    // A second backup to the same name is refused, and a restore onto the live server's file too.
    const again = await hafnium(['backup', '--db', join(live, 'hafnium.db'), out])
    assert.is(again.code, 1)
    assert.match(again.stderr, /already exists/)
    const busy = await hafnium(['restore', '--db', join(live, 'hafnium.db'), '--force', out])
    assert.is(busy.code, 1)
    assert.match(busy.stderr, /is in use by a running server; stop it first, nothing was changed/)
    await t.close()

    const target = join(dir, 'restored/hafnium.db')
    const restore = await hafnium(['restore', '--db', target, out])
    assert.is(restore.code, 0, restore.stderr)
    assert.match(restore.stdout, /integrity ok\), key to .*restored\/hafnium\.db\.key/)
    assert.is(readFileSync(`${target}.key`, 'utf8'), readFileSync(join(live, 'hafnium.db.key'), 'utf8'))
    const check = new Database(target, { readonly: true })
    assert.equal(check.pragma('integrity_check'), [{ integrity_check: 'ok' }])
    check.close()
    const existing = await hafnium(['restore', '--db', target, out])
    assert.is(existing.code, 1)
    assert.match(existing.stderr, /exists; pass --force to replace it/)

    restored = await startTestServer({}, { dir: join(dir, 'restored') })
    const client = await restored.connect()
    for (const username of before) {
      const reply = await request(client, 'profile:login', { username, password: passwordOf(username) })
      assert.is(reply.ok, true, `${username}: ${JSON.stringify(reply)}`)
    }
  } finally {
    stop = true
    await loaded.catch(() => {})
    await restored?.close()
    if (existsSync(join(live, 'hafnium.db.lock'))) await t.close().catch(() => {})
  }
})

sqliteOnly(test, 'restore --force replaces a stopped server database and its key; usage errors exit 2', async ({ dir }) => {
  const first = await startTestServer({}, { dir: join(dir, 'a') })
  const c = await first.connect()
  assert.ok((await request(c, 'profile:register', { username: 'juliet', password: 'romeo-montague' })).ok)
  await first.close()
  const out = join(dir, 'a.backup.db')
  assert.is((await hafnium(['backup', '--db', join(dir, 'a/hafnium.db'), out])).code, 0)

  const second = await startTestServer({}, { dir: join(dir, 'b') })
  const d = await second.connect()
  assert.ok((await request(d, 'profile:register', { username: 'romeo', password: 'juliet-capulet' })).ok)
  await second.close()
  const forced = await hafnium(['restore', '--force', '--db', join(dir, 'b/hafnium.db'), out])
  assert.is(forced.code, 0, forced.stderr)

  const third = await startTestServer({}, { dir: join(dir, 'b') })
  try {
    const e = await third.connect()
    assert.ok((await request(e, 'profile:login', { username: 'juliet', password: 'romeo-montague' })).ok)
    assert.is((await request(e, 'profile:login', { username: 'romeo', password: 'juliet-capulet' })).payload.errID, 'invalid_creds')
  } finally {
    await third.close()
  }
  assert.is((await hafnium(['backup'])).code, 2)
  assert.is((await hafnium(['restore', '--bogus', 'x'])).code, 2)
  assert.is((await hafnium(['backup', '--db', join(dir, 'missing.db'), join(dir, 'x.db')])).code, 1)
})

test('with database.url set, backup and restore refuse and name the PostgreSQL tools', async ({ dir }) => {
  const config = join(dir, 'postgres.json')
  writeFileSync(config, JSON.stringify({ database: { url: 'postgres://hafnium@127.0.0.1:1/hafnium' } }))
  for (const args of [['backup', '--config', config, join(dir, 'pg.backup')], ['restore', '--config', config, '--force', join(dir, 'a.backup.db')]]) {
    const result = await hafnium(args)
    assert.is(result.code, 1, result.stderr)
    assert.match(result.stderr, /database\.url is set: use pg_dump/)
  }
})

test.run()
