// The device → connections registry: fan-out of revocations and events, and no entries for closed sockets.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Connection } from '../../src/handler.ts'
import { createSessions } from '../../src/sessions.ts'

function fakeConnection(id: string, open = true) {
  const events: { type: string; payload: unknown }[] = []
  const conn: Connection & { events: typeof events } = {
    id,
    ip: '127.0.0.1',
    address: '127.0.0.1',
    session: null,
    open,
    events,
    sendEvent: (type, payload) => void events.push({ type, payload }),
    close: () => {},
  }
  return conn
}

const session = (deviceID: string) => ({ accountID: 'a1', userID: '@juliet@localhost', deviceID })

test('revoking a device reaches each of its connections and de-authenticates them', () => {
  const sessions = createSessions()
  const [x, y, z] = [fakeConnection('x'), fakeConnection('y'), fakeConnection('z')]
  sessions.attach(x, session('D1'))
  sessions.attach(y, session('D1'))
  sessions.attach(z, session('D2'))
  sessions.revokeDevice('a1', 'D1', 'logout')
  assert.equal(x.events, [{ type: 'profile:session_revoked', payload: { deviceID: 'D1', reason: 'logout' } }])
  assert.equal(y.events.length, 1)
  assert.is(x.session, null)
  assert.is(sessions.isOnline('a1', 'D1'), false)
  assert.is(sessions.isOnline('a1', 'D2'), true)
  assert.equal(z.events, [])
})

test('notifyAccount skips the excepted device; revokeAccount can spare one', () => {
  const sessions = createSessions()
  const [x, z] = [fakeConnection('x'), fakeConnection('z')]
  sessions.attach(x, session('D1'))
  sessions.attach(z, session('D2'))
  sessions.notifyAccount('a1', 'device:new_login', { deviceID: 'D2', deviceName: 'tablet', at: 1 }, 'D2')
  assert.is(x.events.length, 1)
  assert.is(z.events.length, 0)
  sessions.revokeAccount('a1', 'password_changed', 'D2')
  assert.is(x.session, null)
  assert.ok(z.session)
})

test('a login that completes after its socket closed leaves nothing in the registry', () => {
  const sessions = createSessions()
  const live = fakeConnection('live')
  sessions.attach(live, session('D1'))
  assert.is(sessions.size, 1)
  const gone = fakeConnection('gone', false)
  sessions.attach(gone, session('D3'))
  assert.is(sessions.size, 1, 'only the live connection is registered')
  assert.is(sessions.isOnline('a1', 'D3'), false)
  // Nothing reaches it: no event, no revocation.
  sessions.notifyAccount('a1', 'device:new_login', { deviceID: 'D1', deviceName: 'phone', at: 1 }, 'D1')
  sessions.revokeAccount('a1', 'logout', 'D1')
  assert.equal(gone.events, [])
  sessions.detach(live)
  assert.is(sessions.size, 0, 'and detaching the last live one empties it')
})

test.run()
