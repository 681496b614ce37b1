// The outbox store: sealed rows, due order, retries and dead letters, the key file, and no code in the clear on disk.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from '../../src/store/driver.ts'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { openStore, type Store } from '../../src/store/index.ts'
import { loadOutboxKey } from '../../src/store/outbox-key.ts'
import type { OutgoingMessage } from '../../src/store/outbox.ts'
import { useTempDir } from './support.ts'

const test = suite<{ dir: string }>('outbox store')
const storeOptions = { synchronous: 'normal', busyTimeoutMs: 200 } as const
const t0 = Date.UTC(2026, 0, 1)

const email: OutgoingMessage = { channel: 'email', to: 'juliet@example.org', purpose: 'signup', code: '918273' }
const sms: OutgoingMessage = { channel: 'msisdn', to: '+33612345678', purpose: 'login', code: '564738' }

useTempDir(test, 'hafnium-outbox-')

function open(dir: string, name: string): Store {
  return openStore(join(dir, name), storeOptions)
}

test('enqueue → due (oldest first, unsealed) → delivered deletes', async ({ dir }) => {
  const store = open(dir, 'basic.db')
  store.outbox.enqueue(email, t0)
  store.outbox.enqueue(sms, t0 + 1)
  assert.is((await store.outbox.pending()), 2)
  assert.equal((await store.outbox.due(t0 - 1, 10)), [], 'nothing is due before it was enqueued')
  const due = await store.outbox.due(t0 + 1, 10)
  assert.equal(
    due.map(({ attempts, createdAt, message }) => ({ attempts, createdAt, message })),
    [
      { attempts: 0, createdAt: t0, message: email },
      { attempts: 0, createdAt: t0 + 1, message: sms },
    ],
  )
  assert.is((await store.outbox.due(t0 + 1, 1)).length, 1, 'limit is honoured')
  await store.outbox.delivered(due[0]!.id)
  assert.is((await store.outbox.pending()), 1)
  assert.equal((await store.outbox.due(t0 + 1, 10)).map((m) => m.message), [sms])
  store.close()
})

test('failed with a time reschedules and counts the attempt; failed with null gives up and erases the message', async ({ dir }) => {
  const store = open(dir, 'failed.db')
  store.outbox.enqueue(email, t0)
  const [first] = await store.outbox.due(t0, 10)
  await store.outbox.failed(first!.id, 'SMTP ECONNECTION: refused', t0 + 1000)
  assert.equal((await store.outbox.due(t0 + 999, 10)), [])
  const [again] = await store.outbox.due(t0 + 1000, 10)
  assert.is(again!.attempts, 1)
  await store.outbox.failed(again!.id, 'SMTP 550: no such user', null)
  assert.equal((await store.outbox.due(t0 + 10_000_000, 10)), [])
  assert.is((await store.outbox.pending()), 0)
  store.close()
  const db = new Database(join(dir, 'failed.db'), { readonly: true })
  const row = db.prepare('SELECT attempts, next_attempt_at, last_error, length(sealed) AS sealed FROM outbox').get()
  db.close()
  assert.equal(row, { attempts: 2, next_attempt_at: null, last_error: 'SMTP 550: no such user', sealed: 0 })
})

test('a message survives closing and reopening the store', async ({ dir }) => {
  const first = open(dir, 'reopen.db')
  first.outbox.enqueue(sms, t0)
  first.close()
  const second = open(dir, 'reopen.db')
  assert.equal((await second.outbox.due(t0, 10)).map((m) => m.message), [sms])
  second.close()
})

test('neither the code nor the address is in the clear in the database files', async ({ dir }) => {
  const sub = mkdtempSync(join(dir, 'clear-'))
  const store = openStore(join(sub, 'clear.db'), storeOptions)
  store.outbox.enqueue(email, t0)
  store.outbox.enqueue(sms, t0)
  // Read while open (the rows may still sit in the WAL file) and after close (checkpointed into the main file).
  const scan = () => {
    const bytes = Buffer.concat(readdirSync(sub).filter((f) => !f.endsWith('.key')).map((f) => readFileSync(join(sub, f))))
    assert.ok(bytes.length > 0)
    for (const secret of ['918273', '564738', 'juliet@example.org', '+33612345678']) {
      assert.is(bytes.indexOf(secret), -1, `${secret} found in the database files`)
    }
  }
  scan()
  assert.is((await store.outbox.due(t0, 10))[0]!.message.code, '918273', 'the store itself reads it back')
  store.close()
  scan()
})

test('the key file is created 0600 beside the database and reused; a row sealed under another key is given up', async ({ dir }) => {
  const path = join(dir, 'keyed.db')
  const store = openStore(path, storeOptions)
  const key = readFileSync(`${path}.key`, 'utf8')
  assert.match(key, /^[0-9a-f]{64}\n$/)
  assert.is(statSync(`${path}.key`).mode & 0o777, 0o600)
  store.outbox.enqueue(email, t0)
  store.close()
  assert.equal(loadOutboxKey(path, {}), Buffer.from(key.trim(), 'hex'), 'the same key on the next start')

  writeFileSync(`${path}.key`, 'ab'.repeat(32) + '\n')
  const rekeyed = openStore(path, storeOptions)
  assert.equal((await rekeyed.outbox.due(t0, 10)), [])
  assert.is((await rekeyed.outbox.pending()), 0, 'the unreadable row became a dead letter')
  rekeyed.close()
})

test('HAFNIUM_OUTBOX_KEY overrides the file; a malformed key or key file stops start-up', async ({ dir }) => {
  const key = loadOutboxKey(join(dir, 'env.db'), { HAFNIUM_OUTBOX_KEY: '0f'.repeat(32) })
  assert.equal(key, Buffer.alloc(32, 0x0f))
  assert.throws(() => statSync(join(dir, 'env.db.key')), /ENOENT/, 'no key file is written when the environment gives the key')
  assert.throws(() => loadOutboxKey(join(dir, 'env.db'), { HAFNIUM_OUTBOX_KEY: 'short' }), /HAFNIUM_OUTBOX_KEY must be 64 hexadecimal/)
  writeFileSync(join(dir, 'bad.db.key'), 'not a key\n')
  assert.throws(() => openStore(join(dir, 'bad.db'), storeOptions), /must hold 64 hexadecimal characters/)
  // The failed start released its lock: a corrected key lets the next start through.
  writeFileSync(join(dir, 'bad.db.key'), 'cd'.repeat(32))
  openStore(join(dir, 'bad.db'), storeOptions).close()
})

test(':memory: gets a random key per store', async () => {
  const a = loadOutboxKey(':memory:', {})
  const b = loadOutboxKey(':memory:', {})
  assert.is(a.length, 32)
  assert.not.equal(a, b)
  const store = openStore(':memory:', storeOptions)
  store.outbox.enqueue(email, t0)
  assert.equal((await store.outbox.due(t0, 1))[0]!.message, email)
  store.close()
})

test('dead letters are capped at the newest 1000', async ({ dir }) => {
  const store = open(dir, 'dead.db')
  for (let i = 0; i < 1005; i++) store.outbox.enqueue({ ...sms, code: String(100000 + i) }, t0)
  for (const { id } of (await store.outbox.due(t0, 2000))) await store.outbox.failed(id, 'webhook answered 400', null)
  store.close()
  const db = new Database(join(dir, 'dead.db'), { readonly: true })
  const { n, oldest } = db.prepare('SELECT count(*) AS n, min(id) AS oldest FROM outbox').get() as { n: number; oldest: number }
  db.close()
  assert.is(n, 1000)
  assert.is(oldest, 6)
})

test.run()
