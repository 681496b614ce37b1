// hafnium/client device authorization: requestDeviceAuthorization() → code + session promise, approveDevice, denyDevice.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HafniumClient, HafniumError } from '../../src/client/index.ts'
import { startTestServer } from '../support/server.ts'
import { open, useClientServer, type ClientSuite } from './fixture.ts'

const password = 'balcony-scene-2'
const test = suite<ClientSuite>('client: device authorization')

useClientServer(test, {
  seed: async (c) => {
    await c.register('juliet', password, { loginOnSuccess: false })
  },
})
const openClient = (ctx: ClientSuite) => open(ctx, { requestTimeoutMs: 10_000 })

test('approved: the session promise resolves and the client is logged in as the new device', async (ctx) => {
  const phone = await openClient(ctx)
  await phone.login('juliet', password)
  const tv = await openClient(ctx)
  const authorization = await tv.requestDeviceAuthorization({ deviceName: 'TV' })
  assert.match(authorization.userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
  const approved = await phone.approveDevice(authorization.userCode)
  const session = await authorization.session
  assert.equal([session.userID, session.deviceID], ['@juliet@localhost', approved.deviceID])
  assert.equal(tv.session, session)
  assert.is((await tv.request('profile:get', {})).userID, '@juliet@localhost')
})

test('denied: the session promise rejects with access_denied', async (ctx) => {
  const phone = await openClient(ctx)
  await phone.login('juliet', password)
  const tv = await openClient(ctx)
  const authorization = await tv.requestDeviceAuthorization()
  await phone.denyDevice(authorization.userCode)
  const error = await authorization.session.then(() => undefined, (e: unknown) => e)
  assert.instance(error, HafniumError)
  assert.is((error as HafniumError).errID, 'access_denied')
  assert.is(tv.session, null)
})

test('the socket drops while waiting: a reconnecting client collects the approval by polling', async (ctx) => {
  const t = await startTestServer({ deviceAuthorization: { interval: 1 } })
  try {
    const tv = await HafniumClient.connect(t.url, { reconnect: { initialDelayMs: 10, maxDelayMs: 50 }, requestTimeoutMs: 10_000 })
    ctx.clients.push(tv)
    const authorization = await tv.requestDeviceAuthorization({ deviceName: 'TV' })
    const reconnected = new Promise<void>((resolve, reject) => {
      tv.onStatus((s) => s.status === 'reconnected' && resolve())
      setTimeout(() => reject(new Error('the client did not reconnect (to poll) within 5 s')), 5000).unref()
    })
    for (const conn of t.server.connections) conn.close(1001, 'test drops the socket')
    await reconnected
    const phone = await HafniumClient.connect(t.url)
    ctx.clients.push(phone)
    await phone.register('romeo', password)
    const approved = await phone.approveDevice(authorization.userCode)
    const session = await authorization.session
    assert.is(session.deviceID, approved.deviceID)
    assert.equal(tv.session, session)
  } finally {
    await t.close()
  }
})

test('approveDevice with a wrong code rejects with invalid_code', async (ctx) => {
  const phone = await openClient(ctx)
  await phone.login('juliet', password)
  const error = await phone.approveDevice('BBBB-BBBB').then(() => undefined, (e: unknown) => e)
  assert.is((error as HafniumError).errID, 'invalid_code')
})

test.run()
