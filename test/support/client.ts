// A raw protocol client for tests: sends envelopes, matches replies by id, queues events and closes.
import WebSocket from 'ws'

export interface Reply {
  id: string
  type: string
  from: string
  to?: string
  ok: boolean
  payload: any
}

export interface TestClient {
  readonly ws: WebSocket
  /**
   * Sends a request envelope and resolves with the whole reply; rejects after the client's timeout, naming the
   * request, or with `failOnClose` as soon as the socket closes (opt-in: callers chaining `.then` without a
   * catch would otherwise meet an unhandled rejection at the first close).
   */
  request(type: string, payload?: unknown, envelope?: Record<string, unknown>, options?: { timeoutMs?: number; failOnClose?: boolean }): Promise<Reply>
  /** Sends text as is; resolves with the next reply whose id is `expectId` (default: the next non-event frame). */
  sendRaw(text: string | Buffer, options?: { binary?: boolean }): void
  /** The next non-event frame (in arrival order); rejects after the timeout. */
  nextReply(options?: { timeoutMs?: number }): Promise<Reply>
  /** The next event, optionally of a type; rejects after the timeout. */
  nextEvent(type?: string, options?: { timeoutMs?: number }): Promise<Reply>
  /** Events received and not yet taken. */
  readonly events: Reply[]
  /** Resolves when the server closes the socket. */
  readonly closed: Promise<{ code: number; reason: string }>
  close(): void
  terminate(): void
}

let counter = 0

/**
 * How long a test waits for one reply or event unless told otherwise: a race that loses a reply then
 * fails the test naming what it waited for instead of hanging it. Generous for a loaded 2-core machine.
 */
export const defaultTimeoutMs = 15_000

/** Resolves like `promise`, or rejects after `ms` with an error saying what was awaited; `onTimeout` forgets the waiter. */
function bounded<T>(promise: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout()
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
    }, ms)
  })
  const raced = Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
  // A wait that times out while the test awaits something else would be an unhandled rejection, which ends
  // the whole uvu run and hides every later file; awaiting it still throws, so its own test still fails.
  raced.catch(() => {})
  return raced
}

function remove<T>(list: T[], item: T): void {
  const index = list.indexOf(item)
  if (index >= 0) list.splice(index, 1)
}

export interface ConnectOptions {
  origin?: string
  localAddress?: string
  domain?: string
  timeoutMs?: number
  /** extra upgrade headers (X-Forwarded-For) */
  headers?: Record<string, string>
  /** TLS: the CA to trust (a test certificate) */
  ca?: string | Buffer
}

export function connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, { origin: options.origin, localAddress: options.localAddress, headers: options.headers, ca: options.ca })
  const domain = options.domain ?? 'localhost'
  const clientTimeout = options.timeoutMs ?? defaultTimeoutMs
  const replies: Reply[] = []
  const replyWaiters: ((r: Reply) => void)[] = []
  const byId = new Map<string, (r: Reply) => void>()
  const events: Reply[] = []
  const eventWaiters: { type?: string; resolve: (r: Reply) => void }[] = []
  // Requests sent with failOnClose, failed when the socket closes: no reply can come, and a pending timer
  // would hold the test process open until its timeout (a node killed mid-request, test/cluster/nodes-kill).
  const unanswered = new Map<string, (error: Error) => void>()
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      for (const [id, fail] of unanswered) fail(new Error(`the connection closed (${code}) before the reply to request id ${JSON.stringify(id)}`))
      unanswered.clear()
      resolve({ code, reason: reason.toString() })
    })
  })

  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Reply
    if (frame.id.startsWith('ev:')) {
      const index = eventWaiters.findIndex((w) => !w.type || w.type === frame.type)
      if (index >= 0) eventWaiters.splice(index, 1)[0]!.resolve(frame)
      else events.push(frame)
      return
    }
    const waiter = byId.get(frame.id)
    if (waiter) {
      byId.delete(frame.id)
      unanswered.delete(frame.id)
      return waiter(frame)
    }
    const next = replyWaiters.shift()
    if (next) next(frame)
    else replies.push(frame)
  })

  const client: TestClient = {
    ws,
    events,
    closed,
    request(type, payload = {}, envelope = {}, requestOptions = {}) {
      const id = (envelope.id as string | undefined) ?? `t${++counter}`
      const reply = new Promise<Reply>((resolve, reject) => {
        byId.set(id, resolve)
        if (!requestOptions.failOnClose) return
        if (ws.readyState === ws.CLOSED) reject(new Error(`the connection is closed: cannot send ${type}`))
        else unanswered.set(id, reject)
      })
      ws.send(JSON.stringify({ id, type, to: domain, payload, ...envelope }))
      const ms = requestOptions.timeoutMs ?? clientTimeout
      return bounded(reply, ms, `the reply to ${type} (id ${JSON.stringify(id)})`, () => {
        byId.delete(id)
        unanswered.delete(id)
      })
    },
    sendRaw(text, sendOptions = {}) {
      ws.send(text, { binary: sendOptions.binary ?? false })
    },
    nextReply(waitOptions = {}) {
      const ready = replies.shift()
      if (ready) return Promise.resolve(ready)
      let waiter!: (r: Reply) => void
      const reply = new Promise<Reply>((resolve) => replyWaiters.push((waiter = resolve)))
      const forget = () => remove(replyWaiters, waiter)
      return bounded(reply, waitOptions.timeoutMs ?? clientTimeout, 'the next reply', forget)
    },
    nextEvent(type, waitOptions = {}) {
      const index = events.findIndex((e) => !type || e.type === type)
      if (index >= 0) return Promise.resolve(events.splice(index, 1)[0]!)
      const waiter = { type, resolve: (_: Reply) => {} }
      const event = new Promise<Reply>((resolve) => eventWaiters.push(Object.assign(waiter, { resolve })))
      const forget = () => remove(eventWaiters, waiter)
      return bounded(event, waitOptions.timeoutMs ?? clientTimeout, `an event${type ? ` of type ${type}` : ''}`, forget)
    },
    close: () => ws.close(),
    terminate: () => ws.terminate(),
  }
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client))
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })))
    ws.once('error', reject)
  })
}
