// The soak's sockets: requests that count what is still owed, failures kept as data, and closes that
// never cut off a reply (a close the soak did not ask for is a failure).
import { openConnection, type Conn } from '../../bench/load.ts'

export interface Sock {
  conn: Conn
  pending: number
  closing: boolean
}

export interface SocketPool {
  /** Opens a socket whose unasked-for close counts as a failure. */
  open(): Promise<Sock>
  /** Sends a request; a reply with ok false counts as a failure (and is returned). */
  ask(s: Sock, type: string, payload?: object): Promise<{ ok: boolean; payload: any }>
  /** Closes a socket once its requests are answered: a reply still owed when it closes would never come. */
  retire(s: Sock): void
  /** Closes everything at once, at the end: closes from now on are expected. */
  terminate(socks: Sock[]): void
  fail(what: string): void
  readonly inFlight: number
  readonly failureCount: number
  /** the first 100 failures */
  readonly failures: readonly string[]
}

export function socketPool(url: string): SocketPool {
  const failures: string[] = []
  let failureCount = 0
  let inFlight = 0
  let stopping = false
  const fail = (what: string) => {
    if (failureCount++ < 100) failures.push(what)
  }
  return {
    async open() {
      const conn = await openConnection(url)
      const s = { conn, pending: 0, closing: false }
      conn.ws.on('close', (code) => {
        if (!s.closing && !stopping) fail(`socket closed by the server (${code})`)
      })
      return s
    },
    async ask(s, type, payload = {}) {
      inFlight++
      s.pending++
      try {
        const reply = await s.conn.send(type, payload)
        if (!reply.ok) fail(`${type}: ${JSON.stringify(reply.payload)}`)
        return reply
      } finally {
        inFlight--
        s.pending--
        if (s.closing && s.pending === 0) s.conn.ws.close()
      }
    },
    retire(s) {
      s.closing = true
      if (s.pending === 0) s.conn.ws.close()
    },
    terminate(socks) {
      stopping = true
      for (const s of socks) s.conn.ws.terminate()
    },
    fail,
    get inFlight() {
      return inFlight
    },
    get failureCount() {
      return failureCount
    },
    failures,
  }
}
