// Accounts in protocol tests: register, log in, authenticate, sudo (each failing the test, with the whole
// reply, unless the server said yes) and disable. Tests of those types themselves send their requests by hand.
import * as assert from 'uvu/assert'
import { parseThirdPID } from '../../src/identifiers.ts'
import type { Reply, TestClient } from './client.ts'
import type { TestServer } from './server.ts'

/** A device just logged in: its connection and what profile:login answered. */
export interface Session {
  client: TestClient
  authToken: string
  deviceID: string
  userID: string
}

/** Sends a request that must succeed; resolves with the whole reply. */
export async function requestOk(client: TestClient, type: string, payload: object = {}): Promise<Reply> {
  const reply = await client.request(type, payload)
  assert.ok(reply.ok, JSON.stringify(reply))
  return reply
}

/** profile:register through `client`, which must succeed. */
export function register(client: TestClient, payload: object): Promise<Reply> {
  return requestOk(client, 'profile:register', payload)
}

/** A new device logged in on a new connection: profile:login with `payload` (username or thirdPID, password, …). */
export async function login(t: TestServer, payload: object): Promise<Session> {
  const client = await t.connect()
  const reply = await requestOk(client, 'profile:login', payload)
  return { client, ...(reply.payload as Omit<Session, 'client'>) }
}

/** A new connection authenticated as an existing device (profile:auth). */
export async function auth(t: TestServer, authToken: string): Promise<TestClient> {
  const client = await t.connect()
  await requestOk(client, 'profile:auth', { authToken })
  return client
}

/** A fresh sudoToken for the connection's account, bought with its password (profile:sudo). */
export async function sudo(client: TestClient, password: string): Promise<string> {
  return (await requestOk(client, 'profile:sudo', { password })).payload.sudoToken
}

/** Marks an account disabled straight in the store (`at` is its status timestamp). */
export async function disable(t: TestServer, username: string, at = 0): Promise<void> {
  const { accounts } = t.server.deps.store
  const account = await accounts.byUsername(username)
  assert.ok(account, `no account named ${username}`)
  await accounts.setStatus(account.id, 'disabled', at)
}

/**
 * Marks every 3PID of the account verified, straight in the store: the fixture of an owner who has
 * already entered a code sent to each (only proven addresses receive login and reset codes).
 */
export async function verifyThirdPIDs(t: TestServer, name: string): Promise<void> {
  const { accounts, verifications } = t.server.deps.store
  const thirdPID = parseThirdPID(name)
  const account = thirdPID ? await accounts.byThirdPID(thirdPID) : await accounts.byUsername(name)
  assert.ok(account, `no account named ${name}`)
  for (const t of account.thirdPIDs) await verifications.markVerified(account.id, t)
}
