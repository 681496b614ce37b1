// Sweeps on every node at once (issue 17): each row is deleted once and its event published once, by the
// node whose delete returned it — two store handles on one file stand for two nodes on one database.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { sweepIdleGuests } from '../../src/accounts/guests.ts'
import { createSeenTracker, sweepExpiredDevices } from '../../src/accounts/session-lifetime.ts'
import type { NodeEvent } from '../../src/cluster/bus.ts'
import { createSessions } from '../../src/sessions.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import { startTestServer } from '../support/server.ts'

/** A node's sessions registry whose published events are recorded. */
function node() {
  const published: NodeEvent[] = []
  const sessions = createSessions({ node: 'n', publish: (e) => void published.push(e), listen() {}, close: async () => {} })
  return { sessions, published }
}

test('guest expiry on two nodes at once: each guest deleted once, its revocation published once', async () => {
  const t = await startTestServer({ registration: { guests: true, guestTtl: 60 } })
  const other = openStore(t.config.database.path, { ...t.config.database, lock: false })
  try {
    const c = await t.connect()
    for (let i = 0; i < 10; i++) assert.ok((await c.request('profile:guest', {})).ok)
    const later = { now: () => Date.now() + 3_600_000 }
    const a = node()
    const b = node()
    const counts = await Promise.all([
      sweepIdleGuests({ config: t.config, clock: later, store: t.server.store, sessions: a.sessions }),
      sweepIdleGuests({ config: t.config, clock: later, store: other, sessions: b.sessions }),
    ])
    assert.is(counts[0]! + counts[1]!, 10, `deleted ${counts.join(' + ')}`)
    const revoked = [...a.published, ...b.published].filter((e) => e.kind === 'revoke_account')
    assert.is(revoked.length, 10, 'one revocation per guest deleted')
    assert.is(new Set(revoked.map((e) => (e as { accountID: string }).accountID)).size, 10, 'no guest twice')
  } finally {
    other.close()
    await t.close()
  }
})

test('device expiry on two nodes at once: each device revoked once', async () => {
  const t = await startTestServer({ sessions: { idleTimeout: 3600 } })
  const other = openStore(t.config.database.path, { ...t.config.database, lock: false })
  try {
    const c = await t.connect()
    assert.ok((await c.request('profile:register', { username: 'sweeper', password: 'a-fine-password' })).ok)
    for (let i = 0; i < 6; i++) assert.ok((await c.request('profile:login', { username: 'sweeper', password: 'a-fine-password' })).ok)
    const later = { now: () => Date.now() + 2 * 3_600_000 }
    const a = node()
    const b = node()
    const deps = (store: Store, sessions: ReturnType<typeof node>['sessions']) => ({
      config: t.config,
      store,
      clock: later,
      sessions,
      seen: createSeenTracker(),
      log: pino({ level: 'silent' }),
    })
    const counts = await Promise.all([sweepExpiredDevices(deps(t.server.store, a.sessions)), sweepExpiredDevices(deps(other, b.sessions))])
    assert.is(counts[0]! + counts[1]!, 6, `revoked ${counts.join(' + ')}`)
    const revoked = [...a.published, ...b.published].filter((e) => e.kind === 'revoke_device')
    assert.is(new Set(revoked.map((e) => (e as { deviceID: string }).deviceID)).size, 6)
    assert.is(revoked.length, 6, 'one revocation per device deleted')
  } finally {
    other.close()
    await t.close()
  }
})

test.run()
