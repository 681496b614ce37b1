// Opens one WebSocket (the injected one, else the runtime's global) and turns connection failures into readable errors.
import { HafniumConnectionError } from './errors.ts'
import type { WebSocketConstructor, WebSocketLike } from './types.ts'

/** One open socket, as the client uses it. */
export interface Link {
  /** false when the socket is no longer open (the frame was not sent). */
  send(text: string): boolean
  close(code?: number, reason?: string): void
}

export interface LinkHandlers {
  message(text: string): void
  /** The open socket closed (by either side). */
  close(code: number, reason: string): void
}

const OPEN = 1

/** ws://… or wss://…; http(s) URLs are taken as their ws(s) equivalents. Throws a readable error otherwise. */
export function normaliseUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw badUrl(url)
  }
  if (parsed.protocol === 'http:' || parsed.protocol === 'https:') parsed.protocol = parsed.protocol === 'http:' ? 'ws:' : 'wss:'
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw badUrl(url)
  return parsed.href
}

function badUrl(url: string) {
  return new HafniumConnectionError(`"${url}" is not a WebSocket URL (expected ws://HOST:PORT/ or wss://HOST/PATH)`, { code: 'invalid_url' })
}

export async function openLink(url: string, options: { WebSocket?: WebSocketConstructor; timeoutMs: number }, handlers: LinkHandlers): Promise<Link> {
  const Ctor = options.WebSocket ?? defaultWebSocket()
  let socket: WebSocketLike
  try {
    socket = new Ctor(url)
  } catch (error) {
    throw new HafniumConnectionError(`cannot connect to ${url}: ${(error as Error).message}`, { code: 'invalid_url', cause: error })
  }
  return new Promise<Link>((resolve, reject) => {
    let settled = false
    let opened = false
    let failure: unknown
    const fail = (error: HafniumConnectionError) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(error)
    }
    const timer = setTimeout(() => {
      fail(new HafniumConnectionError(`cannot connect to ${url}: no answer within ${options.timeoutMs} ms`, { code: 'timeout' }))
      socket.close()
    }, options.timeoutMs)
    const link: Link = {
      send(text) {
        if (socket.readyState !== OPEN) return false
        socket.send(text)
        return true
      },
      close: (code, reason) => socket.close(code, reason),
    }
    socket.onerror = (event) => {
      failure = event
      // Before the open, an error is the end: some implementations (Node 20's undici) never send the close event.
      if (!settled) {
        fail(connectError(url, event, 1006))
        try {
          socket.close()
        } catch {
          // not open yet
        }
      }
    }
    socket.onopen = () => {
      if (settled) return socket.close()
      settled = true
      opened = true
      clearTimeout(timer)
      resolve(link)
    }
    socket.onmessage = (event) => {
      // Text frames only (contract §1); a binary frame from the server is ignored.
      if (typeof event.data === 'string') handlers.message(event.data)
    }
    socket.onclose = (event) => {
      if (!opened) return fail(connectError(url, failure, event.code))
      handlers.close(event.code, event.reason)
    }
  })
}

/** The runtime's WebSocket: browsers, Deno, Bun, Node ≥ 22. Node 20 has none: inject one (e.g. from `ws`). */
function defaultWebSocket(): WebSocketConstructor {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (global) return global
  throw new TypeError('this runtime has no global WebSocket (Node < 22): pass one, e.g. HafniumClient.connect(url, { WebSocket }) with `import { WebSocket } from "ws"`')
}

const systemErrors: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset by the server',
}

const httpHints: Record<number, string> = {
  403: ' (this Origin is not allowed)',
  404: ' (wrong path?)',
  429: ' (too many connections from this address)',
  503: ' (the server is shutting down)',
}

/**
 * One shape on every runtime: code `connect_failed`. Browsers and Node's built-in WebSocket (Node ≥ 22)
 * say nothing about why an upgrade failed (by design: a page must not probe the network), so the cause
 * is an extra: `systemCode` (ECONNREFUSED…) and `status` (HTTP) are set only where the runtime reveals
 * them — the `ws` package does, which is why the CLI injects it.
 */
function connectError(url: string, event: unknown, closeCode: number): HafniumConnectionError {
  const cause = (event as { error?: unknown } | undefined)?.error
  const message = (cause as Error | undefined)?.message ?? (event as { message?: string } | undefined)?.message ?? ''
  const rawCode = (cause as { code?: unknown } | undefined)?.code
  const systemCode = typeof rawCode === 'string' && /^E[A-Z_]+$/.test(rawCode) ? rawCode : undefined
  const status = Number(/Unexpected server response: (\d+)/.exec(message)?.[1]) || undefined
  let detail: string
  if (systemCode && systemErrors[systemCode]) detail = systemErrors[systemCode]
  else if (status) detail = `the server answered HTTP ${status} instead of a WebSocket upgrade${httpHints[status] ?? ''}`
  else if (message) detail = message
  else detail = `the connection failed (close code ${closeCode}; this runtime does not say why: is the server running, the URL right?)`
  return new HafniumConnectionError(`cannot connect to ${url}: ${detail}`, { code: 'connect_failed', systemCode, status, cause })
}
