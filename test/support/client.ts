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
  /** Sends a request envelope and resolves with the whole reply. */
  request(type: string, payload?: unknown, envelope?: Record<string, unknown>): Promise<Reply>
  /** Sends text as is; resolves with the next reply whose id is `expectId` (default: the next non-event frame). */
  sendRaw(text: string | Buffer, options?: { binary?: boolean }): void
  /** The next non-event frame (in arrival order). */
  nextReply(): Promise<Reply>
  /** The next event, optionally of a type. */
  nextEvent(type?: string): Promise<Reply>
  /** Events received and not yet taken. */
  readonly events: Reply[]
  /** Resolves when the server closes the socket. */
  readonly closed: Promise<{ code: number; reason: string }>
  close(): void
  terminate(): void
}

let counter = 0

export function connect(url: string, options: { origin?: string; localAddress?: string; domain?: string } = {}): Promise<TestClient> {
  const ws = new WebSocket(url, { origin: options.origin, localAddress: options.localAddress })
  const domain = options.domain ?? 'localhost'
  const replies: Reply[] = []
  const replyWaiters: ((r: Reply) => void)[] = []
  const byId = new Map<string, (r: Reply) => void>()
  const events: Reply[] = []
  const eventWaiters: { type?: string; resolve: (r: Reply) => void }[] = []
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
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
    request(type, payload = {}, envelope = {}) {
      const id = (envelope.id as string | undefined) ?? `t${++counter}`
      const reply = new Promise<Reply>((resolve) => byId.set(id, resolve))
      ws.send(JSON.stringify({ id, type, to: domain, payload, ...envelope }))
      return reply
    },
    sendRaw(text, sendOptions = {}) {
      ws.send(text, { binary: sendOptions.binary ?? false })
    },
    nextReply() {
      const ready = replies.shift()
      return ready ? Promise.resolve(ready) : new Promise((resolve) => replyWaiters.push(resolve))
    },
    nextEvent(type) {
      const index = events.findIndex((e) => !type || e.type === type)
      if (index >= 0) return Promise.resolve(events.splice(index, 1)[0]!)
      return new Promise((resolve) => eventWaiters.push({ type, resolve }))
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
