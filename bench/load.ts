// Load generation: closed-loop (N connections × K in flight) and open-loop (fixed arrival rate) request drivers.
import WebSocket from 'ws'

export interface Sample {
  count: number
  seconds: number
  latenciesMs: Float64Array
  errors: number
}

export interface Conn {
  ws: WebSocket
  send(type: string, payload: unknown): Promise<{ ok: boolean; payload: any }>
}

let ids = 0

export async function openConnections(url: string, count: number, concurrency = 200): Promise<Conn[]> {
  const conns: Conn[] = []
  for (let i = 0; i < count; i += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, () => openConnection(url)))
    conns.push(...batch)
  }
  return conns
}

export function openConnection(url: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    const waiting = new Map<string, (reply: { ok: boolean; payload: any }) => void>()
    ws.on('message', (data) => {
      const text = data.toString()
      // Every reply starts {"id":"…": read the id and the outcome without parsing, so the load
      // generator stays cheaper than the servers it measures. Payloads are parsed on demand.
      const id = text.slice(7, text.indexOf('"', 7))
      const done = waiting.get(id)
      if (done) {
        waiting.delete(id)
        const ok = text.includes('"ok":true')
        done({ ok, get payload() { return JSON.parse(text).payload } })
      }
    })
    ws.once('open', () =>
      resolve({
        ws,
        send(type, payload) {
          const id = (++ids).toString(36)
          return new Promise((done) => {
            waiting.set(id, done)
            ws.send(`{"id":"${id}","type":"${type}","to":"localhost","payload":${JSON.stringify(payload)}}`)
          })
        },
      }),
    )
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

/** Requests at a fixed rate regardless of replies (latency is measured from the scheduled send time). */
export async function openLoop(conns: Conn[], ratePerSecond: number, seconds: number, request: (c: Conn) => Promise<{ ok: boolean }>): Promise<Sample> {
  const latencies: number[] = []
  let errors = 0
  const total = Math.floor(ratePerSecond * seconds)
  const interval = 1000 / ratePerSecond
  const started = performance.now()
  const inflight: Promise<void>[] = []
  let sent = 0
  while (sent < total) {
    const now = performance.now()
    const due = Math.min(total, Math.floor((now - started) / interval) + 1)
    for (; sent < due; sent++) {
      const scheduled = started + sent * interval
      inflight.push(
        request(conns[sent % conns.length]!).then((reply) => {
          latencies.push(performance.now() - scheduled)
          if (!reply.ok) errors++
        }),
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  await Promise.all(inflight)
  return { count: latencies.length, seconds: (performance.now() - started) / 1000, latenciesMs: Float64Array.from(latencies), errors }
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

const round = (n: number) => Math.round(n * 100) / 100
