// Migrations as numbered SQL files per engine: the SQLite files do what the inline migrations did (a
// file at user_version 10 opens unchanged), and PostgreSQL nodes starting together migrate once.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import Database from '../../src/store/driver.ts'
import { openStore } from '../../src/store/index.ts'
import { migrations } from '../../src/store/migrations.ts'
import { readMigrations } from '../../src/store/migration-files.ts'
import { loadOutboxKey } from '../../src/store/outbox-key.ts'
import { sealMessage } from '../../src/store/outbox.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { createTestDatabase, testEngine } from '../support/engine.ts'
import { migrations as inlineMigrations } from './fixtures/migrations-v10.ts'

const sqlite = suite<{ dir: string }>('SQLite migrations from files')
sqlite.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-migrations-'))
})
sqlite.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }))

// sqlite_master keeps each CREATE as written: whitespace is normalised (the files are de-indented).
const schemaOf = (db: InstanceType<typeof Database>) =>
  (db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as { sql: string | null }[]).map(
    (row) => ({ ...row, sql: row.sql?.replace(/\s+/g, ' ') }),
  )

sqlite('the first ten files are the ten migrations the server shipped inline, statement for statement', () => {
  assert.ok(migrations.length >= inlineMigrations.length)
  const statements = (sql: string) =>
    sql
      .replace(/--[^\n]*/g, '')
      .split(';')
      .map((s) => s.replace(/\s+/g, ' ').trim())
      .filter(Boolean)
  inlineMigrations.forEach((sql, i) => assert.equal(statements(migrations[i]!), statements(sql), `migration ${i + 1}`))
})

sqlite('a database written at user_version 10 by the inline migrations opens unchanged, data and schema', ({ dir }) => {
  const path = join(dir, 'hafnium.db')
  const old = new Database(path)
  old.pragma('journal_mode = WAL')
  old.pragma('foreign_keys = ON')
  for (const [i, sql] of inlineMigrations.entries()) {
    old.exec(sql)
    old.pragma(`user_version = ${i + 1}`)
  }
  old.prepare("INSERT INTO accounts (id, username, user_id, status, created_at, updated_at) VALUES ('a1', 'juliet', '@juliet@localhost', 'active', 1, 1)").run()
  const before = schemaOf(old)
  old.close()

  const store = openStore(path, { synchronous: 'normal', busyTimeoutMs: 200 })
  store.close()
  const after = new Database(path, { readonly: true })
  // Only the files after 10 ran (migrations added since: 11 identity providers, 12 outbox claims).
  assert.is(after.pragma('user_version', { simple: true }), migrations.length)
  const migrated = schemaOf(after)
  // Migration 12 added two columns to the outbox: SQLite appends them to the stored CREATE TABLE.
  const addedLater = (row: { name?: unknown; sql: string | null | undefined }) =>
    row.name === 'outbox' ? { ...row, sql: row.sql?.replace(' , claimed_until INTEGER, claim TEXT)', ' )') } : row
  const known = new Set(before.map((row) => JSON.stringify(row)))
  assert.equal(migrated.map(addedLater).filter((row) => known.has(JSON.stringify(row))), before, 'no statement of 1-10 ran again')
  assert.equal(after.prepare('SELECT id, username FROM accounts').all(), [{ id: 'a1', username: 'juliet' }])
  after.close()

  // And a fresh file migrated from the files has the same schema.
  const fresh = join(dir, 'fresh.db')
  openStore(fresh, { synchronous: 'normal', busyTimeoutMs: 200 }).close()
  const db = new Database(fresh, { readonly: true })
  assert.equal(schemaOf(db), migrated)
  db.close()
})

sqlite.run()

const postgres = suite('PostgreSQL migrations')

if (testEngine === 'postgres') {
  postgres('three nodes opening an empty database at once: migrated once, all three work', async () => {
    const database = await createTestDatabase()
    const dir = mkdtempSync(join(tmpdir(), 'hafnium-migrations-'))
    try {
      const nodes = await Promise.all([0, 1, 2].map(() => openPostgresStore(database.url, { poolSize: 2, keyPath: join(dir, 'hafnium.db') })))
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      try {
        const versions = (await client.query('SELECT version FROM hafnium_schema')).rows
        assert.equal(versions, [{ version: readMigrations('postgres').length }], 'one row, at the last version')
      } finally {
        await client.end()
      }
      await nodes[0]!.accounts.create({ id: 'a1', username: 'juliet', userID: '@juliet@localhost', passwordHash: null, status: 'active', profile: {}, thirdPIDs: [], now: 1 })
      for (const node of nodes) assert.is((await node.accounts.byUsername('juliet'))?.id, 'a1')
      await Promise.all(nodes.map((node) => node.close()))
      // A restart finds nothing to do.
      const again = await openPostgresStore(database.url, { poolSize: 2, keyPath: join(dir, 'hafnium.db') })
      assert.is(await again.accounts.count(), 1)
      await again.close()
    } finally {
      await database.drop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  postgres('migration 3 (outbox claims): a message queued at version 2 is unclaimed and claimed once after it', async () => {
    const database = await createTestDatabase()
    const dir = mkdtempSync(join(tmpdir(), 'hafnium-migrations-'))
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      const keyPath = join(dir, 'hafnium.db')
      const key = loadOutboxKey(keyPath)
      await client.query('CREATE TABLE hafnium_schema (version INTEGER NOT NULL)')
      for (const sql of readMigrations('postgres').slice(0, 2)) await client.query(sql)
      await client.query('INSERT INTO hafnium_schema (version) VALUES (2)')
      const queued = { channel: 'email', to: 'juliet@example.org', purpose: 'signup', code: '918273' } as const
      await client.query('INSERT INTO outbox (channel, sealed, attempts, next_attempt_at, created_at) VALUES ($1, $2, 0, 5, 5)', ['email', sealMessage(key, queued)])
      const store = await openPostgresStore(database.url, { poolSize: 2, keyPath })
      try {
        assert.equal((await client.query('SELECT version FROM hafnium_schema')).rows, [{ version: readMigrations('postgres').length }])
        assert.equal((await client.query('SELECT claimed_until, claim FROM outbox')).rows, [{ claimed_until: null, claim: null }])
        assert.equal((await store.outbox.claim(10, 10, 1000)).map((m) => m.message), [queued])
        assert.equal(await store.outbox.claim(10, 10, 1000), [], 'claimed once')
      } finally {
        await store.close()
      }
    } finally {
      await client.end()
      await database.drop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  postgres('the outbox key file is created 0600 in a data directory created 0700 when missing (a fresh `data/`)', async () => {
    const database = await createTestDatabase()
    const dir = mkdtempSync(join(tmpdir(), 'hafnium-migrations-'))
    try {
      const store = await openPostgresStore(database.url, { poolSize: 1, keyPath: join(dir, 'data', 'hafnium.db') })
      await store.close()
      assert.is((statSync(join(dir, 'data')).mode & 0o777).toString(8), '700')
      assert.is((statSync(join(dir, 'data', 'hafnium.db.key')).mode & 0o777).toString(8), '600')
    } finally {
      await database.drop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  postgres('a node with another outbox key refuses to start', async () => {
    const database = await createTestDatabase()
    const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'hafnium-migrations-')))
    try {
      const first = await openPostgresStore(database.url, { poolSize: 2, keyPath: join(dirs[0]!, 'hafnium.db') })
      await first.close()
      try {
        await openPostgresStore(database.url, { poolSize: 2, keyPath: join(dirs[1]!, 'hafnium.db') })
        assert.unreachable('opened with a different key')
      } catch (error) {
        assert.match((error as Error).message, /outbox key differs/)
      }
    } finally {
      await database.drop()
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    }
  })
} else {
  postgres.skip('three nodes opening an empty database at once [runs under HAFNIUM_TEST_ENGINE=postgres]', () => {})
}

postgres.run()
