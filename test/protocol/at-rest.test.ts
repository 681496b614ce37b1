// What the server leaves on disk (issue 11 item 12): owner-only files, and push tokens sealed at rest.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from '../../src/store/driver.ts'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer } from '../support/server.ts'
import { login, register, requestOk } from '../support/accounts.ts'
import { openStore, type SqliteStore } from '../../src/store/index.ts'
import { sqliteOnly } from '../support/engine.ts'
import { grantFor, startTestProvider } from '../support/oidc-provider.ts'

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)

sqliteOnly(test, 'the database, its -wal and -shm, the key and the lock file are created 0600 (umask 022)', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'hafnium-modes-'))
  const dir = join(parent, 'data')
  const previous = process.umask(0o022)
  const t = await startTestServer({ database: { path: join(dir, 'hafnium.db') } }, { dir: parent })
  try {
    const c = await t.connect()
    await register(c, { username: 'modes', password: 'lantern-orchard-77' })
    const db = join(dir, 'hafnium.db')
    const files = [db, `${db}-wal`, `${db}-shm`, `${db}.key`, `${db}.lock`]
    for (const file of files) assert.ok(existsSync(file), `${file} exists`)
    assert.equal(files.map(mode), files.map(() => '600'), files.join(', '))
    assert.is(mode(dir), '700', 'the data directory it created')
  } finally {
    process.umask(previous)
    await t.close()
    rmSync(parent, { recursive: true, force: true })
  }
})

sqliteOnly(test, 'push tokens are sealed in the database and read back whole', async () => {
  const t = await startTestServer()
  const loginToken = 'push-token-from-login-4f1c9a7e'
  const setToken = 'push-token-set-later-b72d05e3'
  try {
    const c = await t.connect()
    await register(c, { username: 'pushed', password: 'lantern-orchard-77' })
    const first = await login(t, { username: 'pushed', password: 'lantern-orchard-77', pushToken: loginToken })
    const second = await login(t, { username: 'pushed', password: 'lantern-orchard-77' })
    await requestOk(second.client, 'device:set_push_token', { pushToken: setToken })

    const accountID = (await t.server.store.accounts.byUsername('pushed'))!.id
    assert.is((await t.server.store.devices.byID(accountID, first.deviceID))!.pushToken, loginToken)
    assert.is((await t.server.store.devices.byID(accountID, second.deviceID))!.pushToken, setToken)

    const raw = new Database((t.server.store as SqliteStore).path, { readonly: true })
    const stored = raw.prepare('SELECT id, push_token FROM devices WHERE push_token IS NOT NULL ORDER BY id').all() as { id: string; push_token: string }[]
    raw.close()
    assert.is(stored.length, 2)
    for (const row of stored) assert.match(row.push_token, /^sealed:[A-Za-z0-9+/]+=*$/)
    const bytes = ['', '-wal'].map((suffix) => readFileSync((t.server.store as SqliteStore).path + suffix).toString('latin1')).join('')
    assert.not.ok(bytes.includes(loginToken) || bytes.includes(setToken), 'no push token in the file or its WAL')
  } finally {
    await t.close()
  }
})

sqliteOnly(test, 'push tokens stored in the clear by an earlier version are sealed at the next start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-legacy-'))
  const path = join(dir, 'hafnium.db')
  try {
    const store = openStore(path, { synchronous: 'normal', busyTimeoutMs: 0 })
    store.close()
    const raw = new Database(path)
    raw.prepare(`INSERT INTO accounts (id, user_id, username, status, created_at, updated_at) VALUES ('a1', '@old@localhost', 'old', 'active', 0, 0)`).run()
    raw.prepare(`INSERT INTO devices (id, account_id, token_hash, name, push_token, created_at, last_seen_at) VALUES ('DEV0000001', 'a1', x'00', 'phone', 'legacy-clear-token', 0, 0)`).run()
    raw.close()
    const reopened = openStore(path, { synchronous: 'normal', busyTimeoutMs: 0 })
    assert.is((await reopened.devices.byID('a1', 'DEV0000001'))!.pushToken, 'legacy-clear-token')
    reopened.close()
    const check = new Database(path, { readonly: true })
    const row = check.prepare(`SELECT push_token FROM devices WHERE id = 'DEV0000001'`).get() as { push_token: string }
    check.close()
    assert.match(row.push_token, /^sealed:/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

sqliteOnly(test, 'identity providers: no state, nonce or providerToken in the database file or its WAL; the provider\'s tokens are not kept', async () => {
  const op = await startTestProvider()
  const t = await startTestServer({ providers: { local: op.config() } })
  try {
    op.accounts.set('at-rest-1', {})
    const c = await t.connect()
    const pending = await requestOk(c, 'provider:auth_url', { providerID: 'local' })
    const nonce = new URL(pending.payload.url).searchParams.get('nonce')!
    const { reply, state } = await grantFor(c, op, 'at-rest-1', { providerID: 'local' })
    const bytes = () => ['', '-wal'].map((suffix) => readFileSync((t.server.store as SqliteStore).path + suffix).toString('latin1')).join('')
    const secrets = [pending.payload.state, nonce, state, reply.payload.providerToken]
    for (const secret of secrets) assert.not.ok(bytes().includes(secret), `not in the file: ${secret.slice(0, 6)}…`)
    const raw = new Database((t.server.store as SqliteStore).path, { readonly: true })
    const columns = (table: string) => (raw.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name)
    const all = ['provider_flows', 'provider_tokens', 'provider_links'].flatMap(columns)
    raw.close()
    assert.not.ok(all.some((name) => /access|refresh/.test(name)), `no column for the provider's access or refresh token: ${all.join(', ')}`)
  } finally {
    await t.close()
    await op.close()
  }
})

test.run()
