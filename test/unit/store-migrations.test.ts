// Schema migrations on a database that already holds data: migration 5 (credentials epoch, device-bound
// sudo tokens) and 6 (code requesters) keep what still means something and drop what no longer can; 7 (guests, tickets); 8 (device authorization); 10 (retired tokens); 11 (providers); 12 (outbox claims).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from '../../src/store/driver.ts'
import { migrate } from '../../src/store/index.ts'
import { migrations } from '../../src/store/migrations.ts'

test('migration 5: accounts get epoch 0; a sudo token of a live device survives, and then dies with its device', () => {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  db.transaction(() => {
    for (const sql of migrations.slice(0, 4)) db.exec(sql)
    db.pragma('user_version = 4')
  })()
  db.prepare("INSERT INTO accounts (id, username, user_id, status, created_at, updated_at) VALUES ('a1', 'juliet', '@juliet@localhost', 'active', 0, 0)").run()
  db.prepare("INSERT INTO devices (id, account_id, token_hash, name, created_at, last_seen_at) VALUES ('D1', 'a1', x'01', 'phone', 0, 0)").run()
  const sudo = db.prepare('INSERT INTO sudo_tokens (token_hash, account_id, device_id, expires_at) VALUES (?, ?, ?, ?)')
  sudo.run(Buffer.from('live'), 'a1', 'D1', 1e15)
  sudo.run(Buffer.from('orphan'), 'a1', 'GONE', 1e15) // version 4 let a token outlive its device

  migrate(db)
  assert.is(db.pragma('user_version', { simple: true }), migrations.length)
  assert.equal(db.prepare('SELECT credentials_epoch AS e FROM accounts').get(), { e: 0 })
  const left = () => (db.prepare('SELECT token_hash FROM sudo_tokens').all() as { token_hash: Buffer }[]).map((r) => r.token_hash.toString())
  assert.equal(left(), ['live'])
  db.prepare("DELETE FROM devices WHERE id = 'D1'").run()
  assert.equal(left(), [], 'deleted with its device')
  assert.equal(db.pragma('foreign_key_check'), [])
  db.close()
})

test('migration 6: a live code keeps working (requester ""), and one live code per requester, destination and purpose', () => {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  db.transaction(() => {
    for (const sql of migrations.slice(0, 5)) db.exec(sql)
    db.pragma('user_version = 5')
  })()
  const insert = (id: string, requester?: string) =>
    db
      .prepare(
        `INSERT INTO verification_codes (id, purpose, medium, address, code_hash, attempts_left, expires_at, created_at${requester === undefined ? '' : ', requester'})
         VALUES (?, 'signup', 'email', 'nurse@verona.example', x'00', 5, 1e15, 0${requester === undefined ? '' : ', ?'})`,
      )
      .run(...(requester === undefined ? [id] : [id, requester]))
  insert('old')
  migrate(db)
  assert.equal(db.prepare('SELECT id, requester FROM verification_codes').all(), [{ id: 'old', requester: '' }])
  insert('mine', 'ip:127.0.0.1')
  insert('yours', 'account:a1')
  assert.throws(() => insert('mine-again', 'ip:127.0.0.1'), /UNIQUE/)
  db.close()
})

test('migration 7: existing accounts are not guests; a ticket link is unique per (iss, sub) and goes with its account', () => {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  db.transaction(() => {
    for (const sql of migrations.slice(0, 6)) db.exec(sql)
    db.pragma('user_version = 6')
  })()
  db.prepare("INSERT INTO accounts (id, username, user_id, status, created_at, updated_at) VALUES ('a1', 'juliet', '@juliet@localhost', 'active', 0, 0)").run()

  migrate(db)
  assert.is(db.pragma('user_version', { simple: true }), migrations.length, 'migrated to the newest version')
  assert.equal(db.prepare('SELECT guest FROM accounts').get(), { guest: 0 })
  db.prepare("INSERT INTO ticket_links (iss, sub, account_id, created_at) VALUES ('app', 'u1', 'a1', 0)").run()
  assert.throws(() => db.prepare("INSERT INTO ticket_links (iss, sub, account_id, created_at) VALUES ('app', 'u1', 'a1', 0)").run(), /UNIQUE|PRIMARY/)
  db.prepare("DELETE FROM accounts WHERE id = 'a1'").run()
  assert.equal(db.prepare('SELECT count(*) AS n FROM ticket_links').get(), { n: 0 }, 'the link goes with its account')
  assert.equal(db.pragma('foreign_key_check'), [])
  db.close()
})

test('migration 8: device authorization grants start empty, need both codes unique, and go with the approving account', () => {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  db.transaction(() => {
    for (const sql of migrations.slice(0, 7)) db.exec(sql)
    db.pragma('user_version = 7')
  })()
  db.prepare("INSERT INTO accounts (id, username, user_id, status, created_at, updated_at) VALUES ('a1', 'juliet', '@juliet@localhost', 'active', 0, 0)").run()
  migrate(db)
  assert.is(db.pragma('user_version', { simple: true }), migrations.length, 'migrated to the newest version')
  const insert = db.prepare("INSERT INTO device_authorizations (id, user_code_hash, device_code_hash, device_name, account_id, expires_at, created_at) VALUES (?, ?, ?, 'TV', ?, 1, 0)")
  insert.run('g1', Buffer.from('u1'), Buffer.from('d1'), 'a1')
  assert.throws(() => insert.run('g2', Buffer.from('u1'), Buffer.from('d2'), null), /UNIQUE/)
  assert.equal(db.prepare('SELECT state FROM device_authorizations').get(), { state: 'pending' })
  db.prepare("DELETE FROM accounts WHERE id = 'a1'").run()
  assert.equal(db.prepare('SELECT count(*) AS n FROM device_authorizations').get(), { n: 0 }, 'an approved grant goes with its account')
  db.close()
})

test('migration 10: existing devices keep their token and have no retired one; a retired hash is unique', () => {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  db.transaction(() => {
    for (const sql of migrations.slice(0, 9)) db.exec(sql)
    db.pragma('user_version = 9')
  })()
  db.prepare("INSERT INTO accounts (id, username, user_id, status, created_at, updated_at) VALUES ('a1', 'juliet', '@juliet@localhost', 'active', 0, 0)").run()
  const insert = db.prepare("INSERT INTO devices (id, account_id, token_hash, name, created_at, last_seen_at) VALUES (?, 'a1', ?, 'phone', 0, 0)")
  insert.run('D1', Buffer.alloc(32, 1))
  insert.run('D2', Buffer.alloc(32, 2))

  migrate(db)
  assert.is(db.pragma('user_version', { simple: true }), migrations.length, 'migrated to the newest version')
  assert.equal(db.prepare("SELECT token_hash, prev_token_hash, prev_retired_at FROM devices WHERE id = 'D1'").get(), {
    token_hash: Buffer.alloc(32, 1),
    prev_token_hash: null,
    prev_retired_at: null,
  })
  const retire = db.prepare('UPDATE devices SET prev_token_hash = ?, prev_retired_at = 0 WHERE id = ?')
  retire.run(Buffer.alloc(32, 9), 'D1')
  assert.throws(() => retire.run(Buffer.alloc(32, 9), 'D2'), /UNIQUE/)
  db.close()
})

test('migration 11: accounts made before it have no provider links; a link dies with its account', () => {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  db.transaction(() => {
    for (const sql of migrations.slice(0, 10)) db.exec(sql)
    db.pragma('user_version = 10')
  })()
  db.prepare("INSERT INTO accounts (id, username, user_id, status, created_at, updated_at) VALUES ('a1', 'juliet', '@juliet@localhost', 'active', 0, 0)").run()
  migrate(db)
  assert.is(db.pragma('user_version', { simple: true }), migrations.length)
  assert.is((db.prepare('SELECT count(*) AS n FROM provider_links').get() as { n: number }).n, 0)
  db.prepare("INSERT INTO provider_links (provider_id, sub, account_id, created_at) VALUES ('google', 's1', 'a1', 0)").run()
  assert.throws(() => db.prepare("INSERT INTO provider_links (provider_id, sub, account_id, created_at) VALUES ('google', 's2', 'a1', 0)").run(), /UNIQUE/)
  db.prepare("DELETE FROM accounts WHERE id = 'a1'").run()
  assert.is((db.prepare('SELECT count(*) AS n FROM provider_links').get() as { n: number }).n, 0)
})

test('migration 12: outbox rows queued before it are unclaimed, so any sender claims them', () => {
  const db = new Database(':memory:')
  db.transaction(() => {
    for (const sql of migrations.slice(0, 11)) db.exec(sql)
    db.pragma('user_version = 11')
  })()
  db.prepare("INSERT INTO outbox (channel, sealed, attempts, next_attempt_at, created_at) VALUES ('email', X'00', 0, 5, 5)").run()
  migrate(db)
  assert.is(db.pragma('user_version', { simple: true }), migrations.length)
  assert.equal(db.prepare('SELECT claimed_until, claim FROM outbox').get(), { claimed_until: null, claim: null })
  db.close()
})

test.run()
