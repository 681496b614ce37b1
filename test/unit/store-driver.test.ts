// The SQLite driver is chosen by the running Node's major version: 13 on ≥ 22, the legacy 12 on 20/21.
import { createRequire } from 'node:module'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database, { driverFor, driverPackage } from '../../src/store/driver.ts'

test('Node 20 and 21 get better-sqlite3 12, Node 22 and later get 13', () => {
  assert.is(driverFor('20.19.0'), 'better-sqlite3-legacy')
  assert.is(driverFor('21.7.3'), 'better-sqlite3-legacy')
  assert.is(driverFor('22.12.0'), 'better-sqlite3')
  assert.is(driverFor('24.21.0'), 'better-sqlite3')
  assert.is(driverFor('26.0.0'), 'better-sqlite3')
})

test('this runtime loads the matching major and it opens, writes, finalizes and closes', () => {
  const major = Number(process.versions.node.split('.')[0])
  const version = (createRequire(import.meta.url)(`${driverPackage}/package.json`) as { version: string }).version
  assert.is(Number(version.split('.')[0]), major >= 22 ? 13 : 12, `driver ${driverPackage}@${version} on Node ${process.versions.node}`)
  const db = new Database(':memory:')
  db.exec('CREATE TABLE t (x INTEGER)')
  for (let i = 0; i < 100; i++) db.prepare('INSERT INTO t VALUES (?)').run(i)
  assert.is((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 100)
  db.close()
})

test.run()
