// One socket: identity, session, in-order message queue, events, heartbeat state, auth deadline, output cap.
// A class with listeners shared by every socket: tens of thousands of idle connections each paid for a
// dozen closures (bench: 1.6x the echo server's bytes per idle connection).
import { atTurnEnd } from './turn-end.ts'
import type { Socket } from 'node:net'
import type { WebSocket, RawData } from 'ws'
import type { Logger } from 'pino'
import type { Connection, Session, SharedEventFrame } from './handler.ts'
import type { Answer, Router } from './router.ts'
import type { Events } from './types/schemas.ts'
import { closeCodes } from './errors.ts'

/** What every connection of one server shares (built once). */
export interface ConnectionSettings {
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

const owner = Symbol('hafnium connection')
type OwnedSocket = WebSocket & { [owner]: LiveConnection }
let eventCounter = 0

export class LiveConnection implements Connection {
  /** false once a ping went unanswered; the heartbeat then terminates the socket. */
  alive = true
  #session: Session | null = null
  #pending = 0
  /**
   * Frames read and not yet answered, in order (a refused one as { refused }), answered one after the other
   * by one loop per burst: a promise chain link per frame (a closure, an async function and its promise)
   * was garbage on the path every message pays.
   */
  #queue: (string | { refused: string })[] = []
  #answering = false
  #drained: (() => void)[] | undefined
  #draining = false
  #closed = false
  #corked = false
  #authTimer: NodeJS.Timeout | undefined
  // The JSON of the user ID replies and event frames are addressed to, for the userID it was made of (userIDJson).
  #toJsonOf: string | undefined
  #toJson: string | undefined
  // ws exposes no public handle on the TCP socket; corking it makes a tick's replies one write.
  readonly #tcp: Socket | undefined

  constructor(
    readonly socket: WebSocket,
    readonly id: string,
    /** The per-IP key (IPv6: its /64 network), see transport/client-address.ts. */
    readonly ip: string,
    /** The client's own address, for logs and a device's last address. */
    readonly address: string,
    readonly settings: ConnectionSettings,
  ) {
    this.#tcp = (socket as unknown as { _socket?: Socket })._socket
    ;(socket as OwnedSocket)[owner] = this
    socket.on('message', onMessage)
    socket.on('pong', onPong)
    socket.on('close', onClose)
    // ws closes the socket itself on protocol errors (1002/1007/1009); 'close' follows.
    socket.on('error', ignore)
    this.#armAuthTimer()
  }

  get open(): boolean {
    return !this.#closed
  }

  // Set by sessions.attach (login) and cleared by a revocation: the auth deadline follows it.
  get session(): Session | null {
    return this.#session
  }

  set session(value: Session | null) {
    const was = this.#session !== null
    this.#session = value
    if (this.#closed || was === (value !== null)) return
    if (value) this.#disarmAuthTimer()
    else this.#armAuthTimer()
    this.settings.onAuthChange(this, value !== null)
  }

  sendEvent<E extends keyof Events>(type: E, payload: Events[E]): void {
    this.sendEventJson(type, JSON.stringify(payload))
  }

  /**
   * An event whose payload is already JSON: one payload serialised once for every connection it goes to.
   * The same bytes as JSON.stringify of {id, type, from, to?, ok, payload}; with `shared`, the frame the
   * first of the event's connections built is sent as is by the others of the same user (one event id).
   */
  sendEventJson(type: string, payloadJson: string, shared?: SharedEventFrame): void {
    const to = this.#session?.userID
    if (shared?.frame !== undefined && shared.to === to) return this.send(shared.frame)
    const toJson = this.userIDJson()
    const frame = `{"id":"ev:${(++eventCounter).toString(36)}","type":${jsonOf(type)},"from":${jsonOf(this.settings.domain)}${toJson ? `,"to":${toJson}` : ''},"ok":true,"payload":${payloadJson}}`
    if (shared) {
      shared.frame = frame
      shared.to = to
    }
    this.send(frame)
  }

  userIDJson(): string | undefined {
    const to = this.#session?.userID
    if (to !== this.#toJsonOf) {
      this.#toJsonOf = to
      this.#toJson = to ? JSON.stringify(to) : undefined
    }
    return this.#toJson
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason)
  }

  /** Stops reading new frames; resolves when every frame already read has been answered. */
  drain(): Promise<void> {
    this.#draining = true
    if (!this.#answering) return Promise.resolve()
    return new Promise((resolve) => (this.#drained ??= []).push(resolve))
  }

  send(frame: string | undefined): void {
    const socket = this.socket
    if (frame === undefined || socket.readyState !== socket.OPEN) return
    if (this.#tcp && !this.#corked) {
      this.#corked = true
      this.#tcp.cork()
      corked.push(this)
      if (corked.length === 1) atTurnEnd(uncorkAll)
    }
    socket.send(frame)
    if (!this.#tcp) this.checkBacklog()
  }

  uncork(): void {
    this.#corked = false
    this.#tcp!.uncork()
    this.checkBacklog()
  }

  // ws buffers without bound for a peer that does not read (94 MiB measured): past the cap it is cut off.
  // Checked once the output is handed to the kernel (after uncork), so a corked burst does not count.
  checkBacklog(): void {
    const socket = this.socket
    if (socket.bufferedAmount <= this.settings.maxBufferedBytes || socket.readyState === socket.CLOSED) return
    this.settings.log.warn({ connection: this.id, ip: this.address, bufferedBytes: socket.bufferedAmount }, 'peer does not read its output; terminating')
    socket.terminate()
  }

  receive(data: RawData, isBinary: boolean): void {
    if (this.#draining) return
    if (isBinary) return this.close(closeCodes.unsupportedData, 'text frames only')
    const { maxQueued } = this.settings
    const raw = data.toString()
    if (this.#pending >= 2 * maxQueued) return this.close(closeCodes.policyViolation, 'too many unanswered requests')
    this.#pending++
    // Past the bound a frame is refused unread, but still in its place: replies keep request order.
    this.#queue.push(this.#pending > maxQueued ? { refused: raw } : raw)
    if (this.#answering) return
    this.#answering = true
    // In a microtask, as a promise chain ran it: the frames ws reads in the same chunk are all queued first.
    queueMicrotask(() => void this.#answerQueued())
  }

  async #answerQueued(): Promise<void> {
    const { router } = this.settings
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        let answer: Answer | Promise<Answer>
        try {
          answer = typeof next === 'string' ? router.route(this, next) : router.refuse(next.refused, 'ratelimit_exceed', { retryAfter: 100 })
          // Awaited only when routing had to wait: a request answered at once pays no await hop.
          if (typeof answer === 'object') answer = await answer
        } catch (thrown) {
          // Not a handler's or a store's error (the router answers those): a bug on the router's own path.
          // Unanswered, the loop's promise would reject unhandled (the process exits) and the frames behind
          // it would never be answered.
          this.settings.log.error({ err: thrown, connection: this.id }, 'routing a request failed; answered internal_error')
          answer = router.refuse(typeof next === 'string' ? next : next.refused, 'internal_error')
        }
        this.send(answer)
        this.#pending--
      }
    } finally {
      this.#answering = false
      const drained = this.#drained
      this.#drained = undefined
      drained?.forEach((resolve) => resolve())
    }
  }

  closed(): void {
    this.#closed = true
    this.#disarmAuthTimer()
    this.settings.onClose(this)
  }

  // An anonymous socket costs memory and a per-IP slot without proving anything: it gets authTimeoutMs.
  #armAuthTimer(ms = this.settings.authTimeoutMs): void {
    this.#authTimer = setTimeout(authTimeout, ms, this)
    this.#authTimer.unref()
  }

  setAuthDeadline(ms: number): void {
    if (this.#closed || this.#session) return
    this.#disarmAuthTimer()
    this.#armAuthTimer(ms)
  }

  #disarmAuthTimer(): void {
    clearTimeout(this.#authTimer)
    this.#authTimer = undefined
  }
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean) {
  ;(this as OwnedSocket)[owner].receive(data, isBinary)
}
function onPong(this: WebSocket) {
  ;(this as OwnedSocket)[owner].alive = true
}
function onClose(this: WebSocket) {
  ;(this as OwnedSocket)[owner].closed()
}
function ignore() {}
// The JSON of the strings every event frame repeats, its type and the domain (the recipient's user ID is
// kept per connection): three JSON.stringify calls per frame were ~0.2 µs of each chat:message. Bounded:
// past it, strings are serialised each time rather than held (event types are few).
const jsonCache = new Map<string, string>()
function jsonOf(value: string): string {
  let json = jsonCache.get(value)
  if (json === undefined) {
    json = JSON.stringify(value)
    if (jsonCache.size < 4096) jsonCache.set(value, json)
  }
  return json
}
// Corked connections are uncorked at the end of the turn (src/turn-end.ts), not the tick: a group commit
// answers in the check phase and may chain further commits there, so the replies and events of all of them
// leave in one write per socket instead of one per chained commit (chat:send 0.27 -> 0.39 × profile:get
// per CPU-second, idle). One callback for all of them, not one per socket (a per-socket Immediate cost
// server:ping ~1-2 µs a request).
const corked: LiveConnection[] = []
function uncorkAll() {
  for (const conn of corked.splice(0)) {
    try {
      conn.uncork()
    } catch {} // one socket's failure must not leave the others corked (its close handles it)
  }
}
function authTimeout(conn: LiveConnection) {
  // Routine (every idle anonymous socket ends so): debug, or info would drown the audit lines.
  conn.settings.log.debug({ connection: conn.id, ip: conn.address }, 'not authenticated in time; closing')
  conn.close(closeCodes.policyViolation, 'authentication timeout')
}
