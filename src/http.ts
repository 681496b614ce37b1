// Plain HTTP on the WebSocket port: health and metrics endpoints, upgrade refusals, request helpers.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Metrics } from './metrics.ts'

export interface HttpContext {
  metrics: Metrics
  draining: boolean
  /** 200, or the status refusing this request's /metrics (see transport/metrics-access.ts). */
  metricsAccess(req: IncomingMessage): 200 | 401 | 403
}

/** GET /healthz (503 while draining) and GET /metrics; 404 elsewhere, 405 for other methods. */
export async function answerHttp(req: IncomingMessage, res: ServerResponse, http: HttpContext): Promise<void> {
  const path = pathOf(req.url)
  if (req.method !== 'GET' && req.method !== 'HEAD') return writeHttp(res, 405, 'text/plain', 'Method Not Allowed\n')
  if (path === '/healthz') {
    const draining = http.draining
    return writeHttp(res, draining ? 503 : 200, 'application/json', JSON.stringify({ status: draining ? 'draining' : 'ok' }))
  }
  if (path === '/metrics') {
    const access = http.metricsAccess(req)
    if (access === 403) return writeHttp(res, 403, 'text/plain', 'Forbidden\n')
    if (access === 401) return writeHttp(res, 401, 'text/plain', 'Unauthorized\n', { 'www-authenticate': 'Bearer' })
    return writeHttp(res, 200, http.metrics.registry.contentType, await http.metrics.registry.metrics())
  }
  return writeHttp(res, 404, 'text/plain', 'Not Found\n')
}

export function refuseUpgrade(socket: Duplex, status: number, text: string) {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

function writeHttp(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

export function pathOf(url: string | undefined): string {
  const end = url?.indexOf('?') ?? -1
  return end === -1 ? (url ?? '/') : url!.slice(0, end)
}
