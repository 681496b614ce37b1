// Device authorization in protocol tests: a waiting connection with its codes.
import type { Reply, TestClient } from './client.ts'
import { requestOk } from './accounts.ts'
import type { TestServer } from './server.ts'

export interface Waiting {
  client: TestClient
  userCode: string
  deviceCode: string
  reply: Reply
}

/** A new anonymous connection that sent device:authorize_request (which must succeed) and now waits. */
export async function requestAuthorization(t: TestServer, payload: object = {}): Promise<Waiting> {
  const client = await t.connect()
  const reply = await requestOk(client, 'device:authorize_request', payload)
  return { client, userCode: reply.payload.userCode, deviceCode: reply.payload.deviceCode, reply }
}
