// Load generation: closed-loop (N connections × K in flight) and open-loop (fixed arrival rate) request drivers.
import WebSocket from 'ws'

export interface Sample {
  count: number
  seconds: number
  latenciesMs: Float64Array
  errors: number
  /** Open loop only, per reply in `latenciesMs`'s order: its type (an index into `types`) and when it was due (ms from the start). */
  typeOf?: Uint8Array
  types?: string[]
  scheduledMs?: Float64Array
  /** Open loop only: when the run started (ms since the epoch), to line slow replies up with the server's logs. */
  startedAtMs?: number
  /** The same on the monotonic clock (ms), the clock of a server's --cpu-prof timestamps (µs there). */
  startedAtMonotonicMs?: number
}

export interface Conn {
  ws: WebSocket
  send(type: string, payload: unknown): Promise<{ ok: boolean; payload: any }>
  /** send() without a promise or a reply object: the open loop's path, so the load generator makes little garbage. */
  fire(type: string, payloadJson: string, done: (ok: boolean, text: string) => void): void
  /** Frames that answered no request of ours (events, e.g. chat:message): read and dropped, only counted. */
  events: () => number
  /** When set, also called with each such frame's text (the PostgreSQL bench times cross-node events). */
  onEvent?: (text: string) => void
}

let ids = 0

/**
 * `count` connections, `concurrency` handshakes at a time; with `sources` > 1 and a server on 127.0.0.1 they
 * come from 127.0.0.2, .3, … in turn (Linux answers on all of 127/8).
 */
export async function openConnections(url: string, count: number, concurrency = 200, sources = 1): Promise<Conn[]> {
  const spread = sources > 1 && new URL(url).hostname === '127.0.0.1'
  const source = (n: number) => (spread ? `127.0.0.${2 + (n % sources)}` : undefined)
  const conns: Conn[] = []
  for (let i = 0; i < count; i += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, (_, j) => openConnection(url, source(i + j))))
    conns.push(...batch)
  }
  return conns
}

export function openConnection(url: string, localAddress?: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) })
    const waiting = new Map<string, (ok: boolean, text: string) => void>()
    let events = 0
    let conn: Conn | undefined
    ws.on('message', (data) => {
      const text = data.toString()
      // Every reply starts {"id":"…": read the id and the outcome without parsing, so the load
      // generator stays cheaper than the servers it measures. Payloads are parsed on demand.
      const id = text.slice(7, text.indexOf('"', 7))
      const done = waiting.get(id)
      if (done) {
        waiting.delete(id)
        done(text.includes('"ok":true'), text)
      } else {
        events++
        conn?.onEvent?.(text)
      }
    })
    const fire = (type: string, payloadJson: string, done: (ok: boolean, text: string) => void) => {
      const id = (++ids).toString(36)
      waiting.set(id, done)
      ws.send(`{"id":"${id}","type":"${type}","to":"localhost","payload":${payloadJson}}`)
    }
    ws.once('open', () => {
      conn = {
        ws,
        fire,
        events: () => events,
        send: (type, payload) =>
          new Promise((resolve) => fire(type, JSON.stringify(payload), (ok, text) => resolve({ ok, get payload() { return JSON.parse(text).payload } }))),
      }
      resolve(conn)
    })
    ws.once('error', reject)
  })
}

/** N connections each keep `inFlight` requests outstanding for `seconds`. */
export async function closedLoop(conns: Conn[], inFlight: number, seconds: number, request: (c: Conn) => Promise<{ ok: boolean }>): Promise<Sample> {
  const latencies: number[] = []
  let errors = 0
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  const lane = async (conn: Conn) => {
    while (performance.now() < deadline) {
      const t0 = performance.now()
      const reply = await request(conn)
      latencies.push(performance.now() - t0)
      if (!reply.ok) errors++
    }
  }
  await Promise.all(conns.flatMap((conn) => Array.from({ length: inFlight }, () => lane(conn))))
  const elapsed = (performance.now() - started) / 1000
  return { count: latencies.length, seconds: elapsed, latenciesMs: Float64Array.from(latencies), errors }
}

/** What an open loop sends as its `index`th request, on `conn`: a type and its payload as JSON. */
export type OpenRequest = (conn: Conn, index: number) => readonly [type: string, payloadJson: string]

/** The same request every time. */
export const always = (type: string, payload: unknown = {}): OpenRequest => {
  const request = [type, JSON.stringify(payload)] as const
  return () => request
}

/**
 * Requests at a fixed rate regardless of replies; latency is measured from the scheduled send time, so a
 * stall anywhere (server or load generator) counts. Nothing per request outlives its reply (no promise,
 * no growing array): the load generator's own GC pauses were 8-11 ms when it kept every request's promise.
 * It spins on setImmediate rather than sleeping on a 1 ms timer, so sends leave on time, not in bursts.
 */
export function openLoop(conns: Conn[], ratePerSecond: number, seconds: number, request: OpenRequest): Promise<Sample> {
  const total = Math.floor(ratePerSecond * seconds)
  const latencies = new Float64Array(total)
  // Which request each latency belongs to and when it was due: the tail broken down by type and by time.
  const typeOf = new Uint8Array(total)
  const scheduledAt = new Float64Array(total)
  const types: string[] = []
  const interval = 1000 / ratePerSecond
  let received = 0
  let errors = 0
  let sent = 0
  const started = performance.now()
  return new Promise((resolve) => {
    // Replies that never come (a dropped connection) end the run 10 s late rather than hang it; they count as errors.
    const giveUp = setTimeout(() => finish(), seconds * 1000 + 10_000)
    const finish = () => {
      clearTimeout(giveUp)
      resolve({
        count: received,
        seconds: (performance.now() - started) / 1000,
        latenciesMs: latencies.subarray(0, received),
        errors: errors + total - received,
        typeOf: typeOf.subarray(0, received),
        types,
        scheduledMs: scheduledAt.subarray(0, received),
        startedAtMs: performance.timeOrigin + started,
        startedAtMonotonicMs: Number(process.hrtime.bigint() / 1000n) / 1000 - (performance.now() - started),
      })
    }
    const send = (index: number) => {
      const scheduled = started + index * interval
      const conn = conns[index % conns.length]!
      const [type, payloadJson] = request(conn, index)
      let typeIndex = types.indexOf(type)
      if (typeIndex < 0) typeIndex = types.push(type) - 1
      conn.fire(type, payloadJson, (ok) => {
        typeOf[received] = typeIndex
        scheduledAt[received] = scheduled - started
        latencies[received++] = performance.now() - scheduled
        if (!ok) errors++
        if (received === total) finish()
      })
    }
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1)
      while (sent < due) send(sent++)
      if (sent < total) setImmediate(tick)
    }
    tick()
  })
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

export function summarize(sample: Sample) {
  const sorted = sample.latenciesMs.slice().sort()
  return {
    perSecond: Math.round(sample.count / sample.seconds),
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
    errors: sample.errors,
  }
}

/** Rounded to hundredths (of a millisecond), as the results are written. */
export const round = (n: number) => Math.round(n * 100) / 100
