// Plain HTTP on the WebSocket port: health and metrics endpoints, upgrade refusals, request helpers.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Metrics } from './metrics.ts'

/** GET /healthz (503 while draining) and GET /metrics; 404 elsewhere, 405 for other methods. */
export async function answerHttp(req: IncomingMessage, res: ServerResponse, metrics: Metrics, draining: boolean): Promise<void> {
  const path = pathOf(req.url)
  if (req.method !== 'GET' && req.method !== 'HEAD') return writeHttp(res, 405, 'text/plain', 'Method Not Allowed\n')
  if (path === '/healthz') {
    return writeHttp(res, draining ? 503 : 200, 'application/json', JSON.stringify({ status: draining ? 'draining' : 'ok' }))
  }
  if (path === '/metrics') return writeHttp(res, 200, metrics.registry.contentType, await metrics.registry.metrics())
  return writeHttp(res, 404, 'text/plain', 'Not Found\n')
}

export function refuseUpgrade(socket: Duplex, status: number, text: string) {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

function writeHttp(res: ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

export function pathOf(url: string | undefined): string {
  const end = url?.indexOf('?') ?? -1
  return end === -1 ? (url ?? '/') : url!.slice(0, end)
}

/** The socket's peer address; X-Forwarded-For is not trusted (no proxy is configured). */
export function clientIP(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown'
  return address.startsWith('::ffff:') ? address.slice(7) : address
}

