// hafnium/client reconnect: a dropped logged-in socket comes back at once and re-authenticates (waiting out
// ratelimit_exceed); an anonymous one comes back on the next request; without the option the client closes.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket from 'ws'
import { HafniumClient, HafniumConnectionError, type Status, type WebSocketConstructor } from '../../src/client/index.ts'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const password = 'balcony-scene-2'
const test = suite('client: reconnect')

/** A ws WebSocket that records the frames the client sends. */
function recording(): { sent: string[]; WebSocket: WebSocketConstructor } {
  const sent: string[] = []
  class Recording extends WebSocket {
    override send(data: string, ...rest: unknown[]) {
      sent.push(data)
      return (super.send as (...args: unknown[]) => void)(data, ...rest)
    }
  }
  return { sent, WebSocket: Recording as unknown as WebSocketConstructor }
}

/** Cuts the server side of every connection matching `which` (as a network failure would). */
function drop(t: TestServer, which: (deviceID: string | undefined) => boolean) {
  let n = 0
  for (const conn of t.server.connections) {
    if (which(conn.session?.deviceID)) {
      conn.socket.terminate()
      n++
    }
  }
  assert.ok(n > 0, 'a connection to drop')
}

function statusOf(client: HafniumClient, wanted: Status['status']): Promise<Status> {
  return new Promise((resolve) => {
    const off = client.onStatus((status) => {
      if (status.status !== wanted) return
      off()
      resolve(status)
    })
  })
}

async function withServer(overrides: DeepPartial<Config>, fn: (t: TestServer) => Promise<void>) {
  const t = await startTestServer(overrides)
  try {
    const setup = await HafniumClient.connect(t.url)
    await setup.register('juliet', password, { loginOnSuccess: false })
    await setup.close()
    await fn(t)
  } finally {
    await t.close()
  }
}

test('a dropped logged-in socket reconnects at once, re-authenticates with the stored token and gets events again', () =>
  withServer({}, async (t) => {
    const { sent, WebSocket } = recording()
    const client = await HafniumClient.connect(t.url, { WebSocket, reconnect: { initialDelayMs: 5 } })
    const statuses: string[] = []
    client.onStatus((s) => void statuses.push(s.status))
    const { deviceID, authToken } = await client.login('juliet', password)
    const back = statusOf(client, 'reconnected')
    drop(t, (id) => id === deviceID)
    const status = await back
    assert.equal(status, { status: 'reconnected', session: { userID: '@juliet@localhost', deviceID, authToken } })
    assert.equal(statuses, ['disconnected', 'reconnected'])
    assert.equal(JSON.parse(sent.at(-1)!).payload, { authToken }, 'the last frame sent was profile:auth with the stored token')
    const { devices } = await client.request('device:list', {})
    assert.equal(devices.map((d) => [d.deviceID, d.current, d.online]), [[deviceID, true, true]], 'the same device, no new login')
    const event = client.nextEvent('device:new_login')
    const other = await HafniumClient.connect(t.url)
    await other.login('juliet', password, { deviceName: 'tablet' })
    assert.is((await event).payload.deviceName, 'tablet')
    await Promise.all([client.close(), other.close()])
  }))

test('re-authentication refused with ratelimit_exceed waits retryAfter and tries again', () =>
  withServer({ ratelimit: { enabled: true, rules: { login_ip: { capacity: 1, refillPerSecond: 5, captcha: false } } } }, async (t) => {
    const { sent, WebSocket } = recording()
    const client = await HafniumClient.connect(t.url, { WebSocket, reconnect: { initialDelayMs: 5 } })
    const { deviceID } = await client.login('juliet', password)
    const back = statusOf(client, 'reconnected')
    drop(t, (id) => id === deviceID)
    const status = await back
    assert.is((status as { authError?: unknown }).authError, undefined, 'no error left after the retry')
    assert.is(sent.filter((frame) => JSON.parse(frame).type === 'profile:auth').length, 2, 'refused once, then accepted')
    assert.is((await client.request('device:list', {})).devices[0]!.deviceID, deviceID)
    await client.close()
  }))

test('re-authentication refused with captcha_required is solved and sent again with the solution, and reported', () =>
  withServer({ captcha: { maxCounter: 2000 }, ratelimit: { enabled: true, rules: { login_ip: { capacity: 1, refillPerSecond: 0.001, captcha: true } } } }, async (t) => {
    const { sent, WebSocket } = recording()
    const client = await HafniumClient.connect(t.url, { WebSocket, reconnect: { initialDelayMs: 5 } })
    const stages: string[] = []
    client.onCaptcha((event) => void stages.push(`${event.type} ${event.stage}`))
    const { deviceID } = await client.login('juliet', password)
    const back = statusOf(client, 'reconnected')
    drop(t, (id) => id === deviceID)
    const status = await back
    assert.is((status as { authError?: unknown }).authError, undefined, 'no error left after the solved retry')
    const auths = sent.map((frame) => JSON.parse(frame)).filter((frame) => frame.type === 'profile:auth')
    assert.equal(auths.map((frame) => typeof frame.payload.captcha), ['undefined', 'string'], 'refused once, then sent with the solution')
    assert.equal(stages, ['profile:auth solving', 'profile:auth solved'])
    await client.close()
  }))

test('a token revoked while disconnected is forgotten: reconnected with authError invalid_token, session null', () =>
  withServer({}, async (t) => {
    const client = await HafniumClient.connect(t.url, { reconnect: { initialDelayMs: 5 } })
    const { deviceID } = await client.login('juliet', password)
    const conn = [...t.server.connections].find((c) => c.session?.deviceID === deviceID)!
    await t.server.store.devices.revoke(conn.session!.accountID, deviceID)
    const back = statusOf(client, 'reconnected')
    conn.socket.terminate()
    const status = (await back) as Extract<Status, { status: 'reconnected' }>
    assert.is((status.authError as { errID?: string }).errID, 'invalid_token')
    assert.is(client.session, null)
    assert.equal(await client.request('server:ping', {}), {}, 'the connection itself is usable')
    await client.close()
  }))

test('an anonymous client whose socket was closed reconnects on its next request', () =>
  withServer({}, async (t) => {
    const client = await HafniumClient.connect(t.url, { reconnect: true })
    const gone = statusOf(client, 'disconnected')
    drop(t, (id) => id === undefined)
    await gone
    assert.is(t.server.connections.size, 0, 'no eager reconnect without a session')
    assert.equal(await client.request('server:ping', {}), {})
    assert.is(t.server.connections.size, 1)
    await client.close()
  }))

test('without reconnect a dropped socket closes the client: requests reject with code "closed"', () =>
  withServer({}, async (t) => {
    const client = await HafniumClient.connect(t.url)
    const closed = statusOf(client, 'closed')
    drop(t, () => true)
    await closed
    assert.is(client.isOpen, false)
    const error = (await client.request('server:ping', {}).catch((e: unknown) => e)) as HafniumConnectionError
    assert.instance(error, HafniumConnectionError)
    assert.is(error.code, 'closed')
  }))

test.run()
