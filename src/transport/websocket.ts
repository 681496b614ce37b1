// The HTTP side of a listener: health and metrics requests, and WebSocket upgrades (path, origin and
// per-IP caps checked before the handshake) that become LiveConnections.
import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { WebSocketServer } from 'ws'
import { LiveConnection, type ConnectionSettings } from '../connection.ts'
import { answerHttp, pathOf, refuseUpgrade, type HttpContext } from '../http.ts'
import type { Metrics } from '../metrics.ts'
import type { RateLimiter } from '../rate-limit.ts'
import type { Router } from '../router.ts'
import type { Sessions } from '../sessions.ts'
import type { Config } from '../types/schemas.ts'
import type { ClientAddress, ClientAddressResolver } from './client-address.ts'
import { createConnectionCaps } from './connection-caps.ts'
import { createMetricsGuard } from './metrics-access.ts'

export interface WebSocketSide {
  config: Readonly<Config>
  router: Router
  sessions: Sessions
  limiter: RateLimiter
  metrics: Metrics
  log: Logger
  /** Every live connection: added on upgrade, removed on close (the server drains and closes them). */
  connections: Set<LiveConnection>
  clients: ClientAddressResolver
  warnForwarded(req: IncomingMessage, client: ClientAddress): void
  /** While the server drains, upgrades get 503 and /health says so. */
  isDraining(): boolean
}

export function serveWebSockets(http: HttpServer | HttpsServer, side: WebSocketSide): void {
  const { config, router, sessions, limiter, metrics, log, connections, clients, warnForwarded } = side
  const allowedOrigins = new Set(config.server.allowedOrigins)
  let nextConnection = 0
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.limits.maxMessageBytes,
    // A message as a flood of tiny fragments or TCP reads is closed with 1008 (ws ≥ 8.21, CVE-2026-48779).
    maxFragments: config.limits.maxFragments,
    maxBufferedChunks: config.limits.maxBufferedChunks,
    // A peer that never answers our close frame is destroyed after this (ws default: 30 s). ws 8.23 has
    // the option; @types/ws 8.18 does not list it yet.
    ...({ closeTimeout: config.server.closeTimeoutMs } as object),
    perMessageDeflate: config.server.perMessageDeflate,
    clientTracking: false,
  })
  const caps = createConnectionCaps(config.limits)

  const connectionSettings: ConnectionSettings = {
    domain: config.server.domains[0],
    router,
    maxQueued: config.limits.maxQueuedPerConnection,
    authTimeoutMs: config.server.authTimeoutMs,
    maxBufferedBytes: config.limits.maxBufferedBytes,
    log,
    onAuthChange(conn, authenticated) {
      caps.authChanged(conn.ip, authenticated)
    },
    onClose(closed) {
      connections.delete(closed)
      sessions.detach(closed)
      limiter.dropConnection(closed.id)
      metrics.connectionClosed()
      caps.closed(closed.ip, closed.session !== null)
    },
  }

  const httpContext: HttpContext = {
    metrics,
    get draining() {
      return side.isDraining()
    },
    metricsAccess: createMetricsGuard(config.metrics, clients),
  }
  http.on('request', (req, res) => {
    warnForwarded(req, clients.resolve(req))
    void answerHttp(req, res, httpContext)
  })
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    if (side.isDraining()) return refuseUpgrade(socket, 503, 'Service Unavailable')
    if (pathOf(req.url) !== config.server.path) return refuseUpgrade(socket, 404, 'Not Found')
    // ws reads Sec-WebSocket-Origin for protocol version 8, so that header is checked too.
    const origin = req.headers.origin ?? req.headers['sec-websocket-origin']
    if (origin !== undefined && allowedOrigins.size > 0 && !allowedOrigins.has(String(origin))) {
      return refuseUpgrade(socket, 403, 'Forbidden')
    }
    // Checked before the handshake (handleUpgrade calls back synchronously, so no upgrade slips between).
    const client = clients.resolve(req)
    warnForwarded(req, client)
    const ip = client.key
    const seen = caps.full(ip)
    if (seen) {
      log.warn({ ip, address: client.address, ...seen }, 'connection cap per IP reached; upgrade refused')
      return refuseUpgrade(socket, 429, 'Too Many Requests')
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      caps.opened(ip)
      const conn = new LiveConnection(ws, `c${(++nextConnection).toString(36)}`, ip, client.address, connectionSettings)
      connections.add(conn)
      metrics.connectionOpened()
    })
  })
}
