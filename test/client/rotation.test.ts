// hafnium/client with rotating tokens (contract §18): it keeps the newest authToken by itself, and a
// rotated reply lost in a disconnect does not end the session — it reconnects with the old token within
// the grace, gets a fresh one and carries on, without the application noticing.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HafniumClient, type Status } from '../../src/client/index.ts'
import { manualClock, startTestServer } from '../support/server.ts'
import { startDroppingProxy } from '../support/proxy.ts'

const password = 'balcony-scene-2'
const test = suite('client: token rotation')

/** Resolves with the next status of that kind, or fails the test saying what it waited for. */
function statusOf(client: HafniumClient, wanted: Status['status'], timeoutMs = 10_000): Promise<Status> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for status ${wanted}`)), timeoutMs)
    const off = client.onStatus((status) => {
      if (status.status !== wanted) return
      off()
      clearTimeout(timer)
      resolve(status)
    })
  })
}

const isRotatedReply = (text: string) => {
  const frame = JSON.parse(text)
  return frame.type === 'profile:auth' && frame.ok && typeof frame.payload.authToken === 'string'
}

test('a lost rotated reply: the client retries with the old token within the grace, keeps the fresh one, and survives past the grace', async () => {
  const clock = manualClock()
  const t = await startTestServer({ sessions: { rotateTokens: true, rotationGraceMs: 30_000 } }, { clock })
  const proxy = await startDroppingProxy(t.url)
  let client: HafniumClient | undefined
  try {
    const setup = await HafniumClient.connect(t.url)
    await setup.register('juliet', password, { loginOnSuccess: false })
    await setup.close()

    client = await HafniumClient.connect(proxy.url, { reconnect: { initialDelayMs: 5 } })
    const errors: unknown[] = []
    client.onStatus((s: Status) => {
      if (s.status === 'reconnected' && s.authError) errors.push(s.authError)
    })
    const { deviceID, authToken: first } = await client.login('juliet', password)

    // Reconnect 1: the server rotates the token, and its reply is lost with the socket.
    const lost = proxy.dropNext(isRotatedReply)
    const back = statusOf(client, 'reconnected')
    proxy.cutAll()
    const lostToken = JSON.parse(await lost).payload.authToken as string
    await back // reconnect 2: the old token within the grace, answered with a fresh token
    const fresh = client.session!.authToken
    assert.ok(fresh !== first && fresh !== lostToken, 'the client holds a token newer than both')
    assert.is(client.session!.deviceID, deviceID)
    assert.equal((await client.request('device:list', {})).devices.map((d) => d.deviceID), [deviceID], 'the same device, no new login')

    // Past the grace the first token is a replay; the client must not present it again.
    clock.advance(60_000)
    const again = statusOf(client, 'reconnected')
    proxy.cutAll()
    const status = (await again) as Extract<Status, { status: 'reconnected' }>
    assert.is(status.authError, undefined)
    assert.is(status.session!.deviceID, deviceID)
    assert.ok(status.session!.authToken !== fresh, 'rotated again')
    assert.equal(await client.request('server:ping', {}), {})
    assert.equal(errors, [])
  } finally {
    await client?.close()
    await proxy.close()
    await t.close()
  }
})

test.run()
