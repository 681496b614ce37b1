// One socket: identity, session, in-order message queue, events, heartbeat state, auth deadline, output cap.
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { Logger } from 'pino'
import type { Connection, Session } from './handler.ts'
import type { Router } from './router.ts'
import { closeCodes } from './errors.ts'

export interface LiveConnection extends Connection {
  /** false once a ping went unanswered; the heartbeat then terminates the socket. */
  alive: boolean
  /** Stops reading new frames; resolves when every frame already read has been answered. */
  drain(): Promise<void>
  readonly socket: WebSocket
}

export interface ConnectionOptions {
  id: string
  ip: string
  domain: string
  router: Router
  maxQueued: number
  /** Closed with 1008 when not authenticated this long after the upgrade or after losing its session. */
  authTimeoutMs: number
  /** Terminated when a send leaves more than this many bytes unread by the peer. */
  maxBufferedBytes: number
  log: Logger
  /** The session appeared (true) or went away (false) while the socket was open. */
  onAuthChange(conn: LiveConnection, authenticated: boolean): void
  onClose(conn: LiveConnection): void
}

let eventCounter = 0

export function createConnection(socket: WebSocket, options: ConnectionOptions): LiveConnection {
  const { router, maxQueued } = options
  let pending = 0
  let tail: Promise<void> = Promise.resolve()
  let draining = false
  let closed = false
  let session: Session | null = null

  // An anonymous socket costs memory and a per-IP slot without proving anything: it gets authTimeoutMs.
  let authTimer: NodeJS.Timeout | undefined
  const armAuthTimer = () => {
    authTimer = setTimeout(() => {
      options.log.info({ connection: options.id, ip: options.ip }, 'not authenticated in time; closing')
      socket.close(closeCodes.policyViolation, 'authentication timeout')
    }, options.authTimeoutMs)
    authTimer.unref()
  }
  const disarmAuthTimer = () => {
    clearTimeout(authTimer)
    authTimer = undefined
  }

  // Replies produced in the same tick (pipelined requests) leave in one write: ws writes each frame
  // with its own writev, which dominated the profile. ws exposes no public handle on the TCP socket.
  const tcp = (socket as unknown as { _socket?: Socket })._socket
  let corked = false
  // ws buffers without bound for a peer that does not read (94 MiB measured): past the cap it is cut off.
  // Checked once the output is handed to the kernel (after uncork), so a corked burst does not count.
  const checkBacklog = () => {
    if (socket.bufferedAmount <= options.maxBufferedBytes || socket.readyState === socket.CLOSED) return
    options.log.warn({ connection: options.id, ip: options.ip, bufferedBytes: socket.bufferedAmount }, 'peer does not read its output; terminating')
    socket.terminate()
  }
  const uncork = () => {
    corked = false
    tcp!.uncork()
    checkBacklog()
  }
  const send = (frame: string | undefined) => {
    if (frame === undefined || socket.readyState !== socket.OPEN) return
    if (tcp && !corked) {
      corked = true
      tcp.cork()
      process.nextTick(uncork)
    }
    socket.send(frame)
    if (!tcp) checkBacklog()
  }

  const conn: LiveConnection = {
    id: options.id,
    ip: options.ip,
    // Set by sessions.attach (login) and cleared by a revocation: the auth deadline follows it.
    get session() {
      return session
    },
    set session(value) {
      const was = session !== null
      session = value
      if (closed || was === (value !== null)) return
      if (value) disarmAuthTimer()
      else armAuthTimer()
      options.onAuthChange(conn, value !== null)
    },
    get open() {
      return !closed
    },
    alive: true,
    socket,
    sendEvent(type, payload) {
      const to = conn.session?.userID
      const id = `ev:${(++eventCounter).toString(36)}`
      send(JSON.stringify(to ? { id, type, from: options.domain, to, ok: true, payload } : { id, type, from: options.domain, ok: true, payload }))
    },
    close(code, reason) {
      socket.close(code, reason)
    },
    drain() {
      draining = true
      return tail
    },
  }

  socket.on('message', (data, isBinary) => {
    if (draining) return
    if (isBinary) return conn.close(closeCodes.unsupportedData, 'text frames only')
    const raw = data.toString()
    if (pending >= 2 * maxQueued) return conn.close(closeCodes.policyViolation, 'too many unanswered requests')
    pending++
    // Past the bound a frame is refused unread, but still in its place: replies keep request order.
    const answer = pending > maxQueued ? () => router.refuse(raw, 'ratelimit_exceed', { retryAfter: 100 }) : () => router.route(conn, raw)
    tail = tail.then(async () => {
      send(await answer())
      pending--
    })
  })
  socket.on('pong', () => {
    conn.alive = true
  })
  socket.on('close', () => {
    closed = true
    disarmAuthTimer()
    options.onClose(conn)
  })
  socket.on('error', () => {
    // ws closes the socket itself (1002/1007/1009); 'close' follows.
  })
  armAuthTimer()
  return conn
}
