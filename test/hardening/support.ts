// Helpers of the hardening tier: raw upgrades and frames, waiting on conditions (never fixed sleeps),
// connection attempts that report the HTTP status, fd counts, and the canary client.
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import WebSocket from 'ws'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'
import type { TestClient } from '../support/client.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

/** Rejects when `promise` has not settled after `ms`: a guard against a hung test, not a timing assertion. */
export function deadline<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: nothing after ${ms} ms`)), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/** Resolves once `condition()` holds, checking every `everyMs`; rejects after `ms` (hang guard). */
export async function until(condition: () => boolean, label: string, ms = 15_000, everyMs = 10): Promise<void> {
  const stop = Date.now() + ms
  while (!condition()) {
    if (Date.now() > stop) throw new Error(`${label}: still false after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** Open file descriptors of this process (the server runs in-process). */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length
}

/** Opens a WebSocket and reports 101 or the HTTP status the upgrade was refused with. */
export function tryConnect(
  url: string,
  options: { localAddress?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress: options.localAddress, headers: options.headers })
    ws.once('open', () => resolve({ status: 101, ws }))
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 })
      res.resume()
      ws.terminate()
    })
    ws.once('error', reject)
  })
}

/** A raw TCP socket past a handwritten upgrade request: the test decides every byte it sends or reads. */
export function rawUpgrade(port: number, options: { localAddress?: string; path?: string } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port, localAddress: options.localAddress })
    let head = ''
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy()
        return reject(new Error(`upgrade refused: ${head.slice(0, head.indexOf('\r\n'))}`))
      }
      const rest = Buffer.from(head.slice(end + 4), 'latin1')
      if (rest.length > 0) socket.unshift(rest)
      resolve(socket)
    }
    socket.on('data', onData)
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.write(
        `GET ${options.path ?? '/'} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
    })
  })
}

/** One client-to-server frame (masked unless told otherwise), with any opcode, FIN and RSV bits. */
export function frame(payload: Buffer | string, options: { opcode?: number; fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  const masked = options.mask ?? true
  const first = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (options.opcode ?? 1)
  const length = data.length
  const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10)
  header[0] = first
  if (length < 126) header[1] = length
  else if (length < 65536) {
    header[1] = 126
    header.writeUInt16BE(length, 2)
  } else {
    header[1] = 127
    header.writeBigUInt64BE(BigInt(length), 2)
  }
  if (!masked) return Buffer.concat([header, data])
  header[1]! |= 0x80
  const key = randomBytes(4)
  const body = Buffer.from(data)
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!
  return Buffer.concat([header, key, body])
}

/** The close code of a server close frame found in `bytes` read from a raw socket, if any. */
export function closeCodeIn(bytes: Buffer): number | undefined {
  let at = 0
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f
    let length = bytes[at + 1]! & 0x7f
    let start = at + 2
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2)
      start = at + 4
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at + 2))
      start = at + 10
    }
    if (opcode === 8) return length >= 2 ? bytes.readUInt16BE(start) : 1005
    at = start + length
  }
  return undefined
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

export interface Canary {
  /** Stops pinging; the round trips measured so far. */
  stop(): Promise<{ count: number; p50: number; p99: number; max: number; failures: number }>
}

/** A client that sends server:ping every `everyMs` and records each round trip (heavy tier only). */
export function startCanary(client: TestClient, everyMs = 100): Canary {
  const rtts: number[] = []
  let failures = 0
  let running = true
  let inFlight: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    if (!running) return
    const started = performance.now()
    inFlight = client.request('server:ping').then(
      (reply) => {
        if (reply.ok) rtts.push(performance.now() - started)
        else failures++
      },
      () => {
        failures++
      },
    )
  }, everyMs)
  return {
    async stop() {
      running = false
      clearInterval(timer)
      await inFlight
      return { count: rtts.length, p50: percentile(rtts, 50), p99: percentile(rtts, 99), max: Math.max(...rtts), failures }
    },
  }
}

/** One line of figures for a heavy scenario. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const text = Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : String(v)}`)
    .join(' ')
  console.log(`\n  [hardening] ${scenario}: ${text}`)
}

/**
 * A test server whose code transports deliver nowhere (the fuzzer asks for many codes; the console
 * transport would print each). Overrides merge over the test defaults.
 */
export function startQuietServer(overrides: DeepPartial<Config> = {}): Promise<TestServer> {
  const silent = { send: async () => {} }
  return startTestServer(overrides, { transports: { email: silent, msisdn: silent } })
}
