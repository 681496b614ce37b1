// The HTTP or, with server.tls, HTTPS server under the WebSocket endpoint, with its slow-client bounds.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { Config } from '../types/schemas.ts'
import { readTls } from './tls.ts'

export interface Listener {
  readonly server: HttpServer | HttpsServer
  readonly scheme: 'ws' | 'wss'
  /** Re-reads server.tls's files into new connections' context; throws (the old one stays) if they do not load. */
  reloadTls(): void
}

export function createListener(config: Readonly<Config>): Listener {
  const options = {
    maxHeaderSize: config.server.maxHeaderSize,
    headersTimeout: config.server.headersTimeoutMs,
    requestTimeout: config.server.requestTimeoutMs,
    // Node checks the two timeouts above only this often (30 s by default): a slow-header socket lived 90 s.
    connectionsCheckingInterval: Math.min(1000, config.server.headersTimeoutMs),
  }
  const tls = config.server.tls
  if (!tls) {
    return {
      server: createHttpServer(options),
      scheme: 'ws',
      reloadTls() {
        throw new Error('server.tls is not set: nothing to reload')
      },
    }
  }
  // A TLS handshake gets the same time as the upgrade headers (Node's default: 120 s per socket).
  const server = createHttpsServer({ ...options, ...readTls(tls), handshakeTimeout: config.server.headersTimeoutMs })
  return {
    server,
    scheme: 'wss',
    reloadTls: () => server.setSecureContext(readTls(tls)),
  }
}
