// hafnium/client events: on/off callbacks, the async iterator, nextEvent, and the session they change.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { EventEnvelope } from '../../src/client/index.ts'
import { open, useClientServer, type ClientSuite } from './fixture.ts'
import { assertValidReply } from '../support/schemas.ts'

const password = 'balcony-scene-2'
const test = suite<ClientSuite>('client: events')

useClientServer(test, {
  seed: async (c) => {
    await c.register('juliet', password, { loginOnSuccess: false })
  },
})

test('device:new_login reaches on() listeners, "*" listeners and an iterator; off() stops a listener', async (ctx) => {
  const first = await open(ctx)
  await first.login('juliet', password, { deviceName: 'phone' })
  const typed: { deviceName: string; at: number }[] = []
  const all: string[] = []
  const onNewLogin = (payload: { deviceName: string; at: number }) => void typed.push(payload)
  first.on('device:new_login', onNewLogin)
  first.on('*', (_payload, event) => void all.push(event.type))
  const iterator = first.events('device:new_login')

  const second = await open(ctx)
  const login = await second.login('juliet', password, { deviceName: 'tablet' })
  const { value: event } = await iterator.next()
  assertValidReply('device:new_login', event as EventEnvelope as never, 'event')
  assert.equal(event!.payload, { deviceID: login.deviceID, deviceName: 'tablet', at: event!.payload.at })
  assert.is(event!.to, '@juliet@localhost')
  assert.equal(typed.map((p) => p.deviceName), ['tablet'])
  assert.equal(all, ['device:new_login'])

  first.off('device:new_login', onNewLogin)
  const next = first.nextEvent('device:new_login')
  await (await open(ctx)).login('juliet', password, { deviceName: 'laptop' })
  assert.is((await next).payload.deviceName, 'laptop')
  assert.equal(typed.map((p) => p.deviceName), ['tablet'], 'off() removed the listener')
  assert.equal((await iterator.next()).value!.payload.deviceName, 'laptop', 'the iterator buffered the event')
  await iterator.return!()
})

test('profile:session_revoked arrives on the revoked connection and clears its session', async (ctx) => {
  const me = await open(ctx)
  const target = await open(ctx)
  await me.login('juliet', password)
  const { deviceID } = await target.login('juliet', password)
  assert.is(target.session?.deviceID, deviceID)
  const revoked: EventEnvelope<'profile:session_revoked'>[] = []
  const loop = (async () => {
    for await (const event of target.events('profile:session_revoked')) revoked.push(event)
  })()
  const next = target.nextEvent('profile:session_revoked')
  const { sudoToken } = await me.request('profile:sudo', { password })
  await me.request('device:revoke', { deviceID, sudoToken })
  assert.equal((await next).payload, { deviceID, reason: 'revoked' })
  assert.is(target.session, null, 'the dead token is forgotten')
  assert.is(me.session?.userID, '@juliet@localhost', 'the revoking device keeps its session')
  await target.close()
  await loop
  assert.equal(revoked.map((e) => e.payload.reason), ['revoked'], 'the for-await loop saw it and ended when the client closed')
})

test('login, auth and logout keep client.session in step', async (ctx) => {
  const client = await open(ctx)
  assert.is(client.session, null)
  const login = await client.login('JULIET', password)
  assert.equal(client.session, { userID: '@juliet@localhost', deviceID: login.deviceID, authToken: login.authToken })
  const other = await open(ctx)
  assert.equal(await other.auth(login.authToken), { userID: '@juliet@localhost', deviceID: login.deviceID })
  assert.equal(other.session, client.session)
  const revokedHere = client.nextEvent('profile:session_revoked')
  const revokedThere = other.nextEvent('profile:session_revoked')
  assert.equal(await client.logout(), {})
  assert.is((await revokedHere).payload.reason, 'logout')
  assert.is(client.session, null)
  assert.is((await revokedThere).payload.deviceID, login.deviceID)
  assert.is(other.session, null, 'every connection of the device forgets it')
})

test('register() logs in unless loginOnSuccess is false', async (ctx) => {
  const client = await open(ctx)
  const reply = await client.register('romeo', password)
  assert.is(client.session?.deviceID, reply.loginPayload!.deviceID)
  const other = await open(ctx)
  await other.register('mercutio', password, { loginOnSuccess: false })
  assert.is(other.session, null)
})

test.run()
