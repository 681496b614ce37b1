// The requests of the `mixed` scenario: what a chat service's clients send between their messages.
import type { Fixture } from './fixture.ts'
import { openConnection, type Conn, type OpenRequest } from './load.ts'

/** A load connection signed in as a fixture account. */
export interface SignedIn {
  conn: Conn
  authToken: string
}

const UPDATE_SHARE = 0.05
const FRESH_AUTH_SHARE = 0.02

/**
 * Closed loop, per request: 93% `profile:get` of a random other fixture user (a contact list, a chat
 * header: cold reads over 100,000 accounts, most not in the cache), 5% `profile:update` of one's own
 * nickname (a write that must invalidate what others read), 2% `profile:auth` on a fresh socket (a
 * client reconnecting: TCP + WebSocket handshake, re-auth, then it goes away). Each reconnect's time
 * (handshake to reply) goes into `reconnects`: they are the closed loop's p99 (see README > Performance).
 */
export function mixedClosed(url: string, fixture: Fixture, signedIn: Map<Conn, SignedIn>, reconnects: number[] = []) {
  let updates = 0
  return async (conn: Conn): Promise<{ ok: boolean }> => {
    const roll = Math.random()
    if (roll < UPDATE_SHARE) return fire(conn, 'profile:update', `{"nickname":"nick${++updates % 1000}"}`)
    if (roll < UPDATE_SHARE + FRESH_AUTH_SHARE) {
      const started = performance.now()
      const fresh = await openConnection(url)
      try {
        return await fresh.send('profile:auth', { authToken: signedIn.get(conn)!.authToken })
      } finally {
        reconnects.push(performance.now() - started)
        fresh.ws.terminate()
      }
    }
    return fire(conn, 'profile:get', `{"userID":"${fixture.userID(Math.floor(Math.random() * fixture.count))}"}`)
  }
}

/**
 * The open-loop variant (fixed arrival times cannot wait for a handshake): the 2% re-auths run on the
 * live socket, so this measures the server's share of a reconnect, not the TCP handshake.
 */
export function mixedOpen(fixture: Fixture, signedIn: Map<Conn, SignedIn>): OpenRequest {
  let updates = 0
  const authOf = new Map([...signedIn].map(([conn, s]) => [conn, JSON.stringify({ authToken: s.authToken })]))
  return (conn) => {
    const roll = Math.random()
    if (roll < UPDATE_SHARE) return ['profile:update', `{"nickname":"nick${++updates % 1000}"}`]
    if (roll < UPDATE_SHARE + FRESH_AUTH_SHARE) return ['profile:auth', authOf.get(conn)!]
    return ['profile:get', `{"userID":"${fixture.userID(Math.floor(Math.random() * fixture.count))}"}`]
  }
}

const fire = (conn: Conn, type: string, payloadJson: string) =>
  new Promise<{ ok: boolean }>((done) => conn.fire(type, payloadJson, (ok) => done({ ok })))

/** Signs each connection in as a different fixture account, spread over the whole table. */
export async function signIn(conns: Conn[], fixture: Fixture): Promise<Map<Conn, SignedIn>> {
  const stride = Math.floor(fixture.count / conns.length)
  const signedIn = await Promise.all(
    conns.map(async (conn, i) => {
      const reply = await conn.send('profile:login', { username: fixture.username(i * stride), password: fixture.password })
      if (!reply.ok) throw new Error(`login ${fixture.username(i * stride)}: ${JSON.stringify(reply.payload)}`)
      return [conn, { conn, authToken: reply.payload.authToken as string }] as const
    }),
  )
  return new Map(signedIn)
}
