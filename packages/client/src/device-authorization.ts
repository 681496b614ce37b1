// Device authorization from the device's side: show a code, wait for device:authorized (or poll after a reconnect).
import { HafniumConnectionError, HafniumError } from './errors.ts'
import type { HafniumClient } from './client.ts'
import type { RequestPayload, Session } from './types.ts'

export interface DeviceAuthorization {
  /** `XXXX-XXXX`: show it; the user types it on a signed-in device (`approveDevice`). */
  userCode: string
  /** For device:authorize_poll; never show it. */
  deviceCode: string
  expiresIn: number
  interval: number
  /**
   * Settles once: the session when a signed-in device approves (this client is then logged in as the
   * new device), or a HafniumError `access_denied` (denied) or `code_expired` (nobody decided in time).
   */
  session: Promise<Session>
}

/** A refusal the server did not send as a reply (an event, or time running out), shaped like one. */
const refusal = (type: string, errID: string, errText: string) =>
  new HafniumError({ id: '', type, from: '', ok: false, payload: { errID, errText } })

export async function requestDeviceAuthorization(
  client: HafniumClient,
  payload: RequestPayload<'device:authorize_request'>,
): Promise<DeviceAuthorization> {
  let settle: { resolve(s: Session): void; reject(e: Error): void } | undefined
  const session = new Promise<Session>((resolve, reject) => (settle = { resolve, reject }))
  session.catch(() => {}) // a caller that only wants the code must not get an unhandled rejection
  const cleanups: (() => void)[] = []
  const finish = (outcome: Session | Error) => {
    if (!settle) return
    const { resolve, reject } = settle
    settle = undefined
    for (const cleanup of cleanups) cleanup()
    if (outcome instanceof Error) reject(outcome)
    else resolve(outcome)
  }
  // Subscribed before the request leaves: an approval can follow its reply within milliseconds.
  cleanups.push(
    client.on('device:authorized', (p) => finish({ userID: p.userID, deviceID: p.deviceID, authToken: p.authToken })),
    client.on('device:authorize_denied', () => finish(refusal('device:authorize_denied', 'access_denied', 'The user denied this device'))),
  )
  let reply
  try {
    reply = await client.request('device:authorize_request', payload)
  } catch (error) {
    for (const cleanup of cleanups) cleanup()
    throw error
  }
  const timer = setTimeout(() => finish(refusal('device:authorize_request', 'code_expired', 'Nobody approved this device in time')), reply.expiresIn * 1000)
  cleanups.push(() => clearTimeout(timer))
  // The socket that waits is gone: collect by polling over the next one (the poll's request reconnects);
  // a client that does not reconnect has nothing left to wait on.
  cleanups.push(
    client.onStatus((status) => {
      if (status.status === 'disconnected') void poll(client, reply.deviceCode, reply.interval, () => !settle, finish)
      if (status.status === 'closed') finish(new HafniumConnectionError('the client closed before the device was approved', { code: 'closed' }))
    }),
  )
  return { ...reply, session }
}

async function poll(client: HafniumClient, deviceCode: string, interval: number, done: () => boolean, finish: (outcome: Session | Error) => void) {
  while (!done()) {
    try {
      const p = await client.request('device:authorize_poll', { deviceCode })
      return finish({ userID: p.userID, deviceID: p.deviceID, authToken: p.authToken })
    } catch (error) {
      const wait = error instanceof HafniumError && error.errID === 'authorization_pending' ? interval * 1000 : error instanceof HafniumError && error.errID === 'ratelimit_exceed' ? (error.retryAfter ?? interval * 1000) : undefined
      if (wait === undefined) return finish(error as Error)
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}
