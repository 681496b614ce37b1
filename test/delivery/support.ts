// Helpers for the delivery tests: a temporary directory, a config, a captured logger, and an HTTP receiver that answers from a script.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'uvu'
import { loadConfig, type DeepPartial } from '../../src/config.ts'
import { createLogger } from '../../src/log.ts'
import type { Config } from '../../src/types/schemas.ts'

/** Gives the suite a fresh temporary directory as `dir`, made before its tests and removed after them. */
export function useTempDir(test: Test<{ dir: string }>, prefix: string): void {
  test.before((ctx) => {
    ctx.dir = mkdtempSync(join(tmpdir(), prefix))
  })
  test.after(({ dir }) => rmSync(dir, { recursive: true, force: true }))
}

export function deliveryConfig(dbPath: string, delivery: DeepPartial<Config['delivery']> = {}): Readonly<Config> {
  return loadConfig({ overrides: { database: { path: dbPath }, log: { level: 'info' }, delivery } })
}

/** A pino logger whose lines are kept, so a test can check what was (and was not) logged. */
export function capturedLogger() {
  const lines: string[] = []
  const log = createLogger('info', { write: (line: string) => void lines.push(line) })
  return { log, lines, messages: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) }
}

export interface Received {
  headers: IncomingMessage['headers']
  body: string
  status: number
}

export interface Receiver {
  url: string
  received: Received[]
  /** Resolves with the n-th request (1-based) once it has arrived. */
  nth(n: number): Promise<Received>
  close(): Promise<void>
}

/**
 * Answers request n with statuses[n - 1] (the last one repeats); a status of 0 holds the request
 * unanswered until close(), like a gateway that hangs.
 */
export async function startReceiver(statuses: number[]): Promise<Receiver> {
  const received: Received[] = []
  const waiters = new Map<number, (r: Received) => void>()
  const held: ServerResponse[] = []
  const http = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const status = statuses[Math.min(received.length, statuses.length - 1)]!
      const entry = { headers: req.headers, body, status }
      received.push(entry)
      waiters.get(received.length)?.(entry)
      if (status === 0) return void held.push(res)
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'queued' : 'no')
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/sms`,
    received,
    nth: (n) => (received.length >= n ? Promise.resolve(received[n - 1]!) : new Promise((resolve) => waiters.set(n, resolve))),
    async close() {
      for (const res of held) res.destroy()
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    },
  }
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const http = createServer()
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  await new Promise((resolve) => http.close(resolve))
  return port
}

/** A promise with its resolve exposed. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}
