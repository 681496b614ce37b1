// One socket: identity, session, in-order message queue, events, heartbeat state.
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { Connection } from './handler.ts'
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
  onClose(conn: LiveConnection): void
}

let eventCounter = 0

export function createConnection(socket: WebSocket, options: ConnectionOptions): LiveConnection {
  const { router, maxQueued } = options
  let pending = 0
  let tail: Promise<void> = Promise.resolve()
  let draining = false

  // Replies produced in the same tick (pipelined requests) leave in one write: ws writes each frame
  // with its own writev, which dominated the profile. ws exposes no public handle on the TCP socket.
  const tcp = (socket as unknown as { _socket?: Socket })._socket
  let corked = false
  const uncork = () => {
    corked = false
    tcp!.uncork()
  }
  const send = (frame: string | undefined) => {
    if (frame === undefined || socket.readyState !== socket.OPEN) return
    if (tcp && !corked) {
      corked = true
      tcp.cork()
      process.nextTick(uncork)
    }
    socket.send(frame)
  }

  const conn: LiveConnection = {
    id: options.id,
    ip: options.ip,
    session: null,
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
  socket.on('close', () => options.onClose(conn))
  socket.on('error', () => {
    // ws closes the socket itself (1002/1007/1009); 'close' follows.
  })
  return conn
}
