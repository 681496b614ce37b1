// Errors the client library throws: a server's refusal (HafniumError) or a transport failure (HafniumConnectionError).
import type { ErrorPayload, ReplyEnvelope } from './types.ts'

/** An `ok: false` reply: act on `errID`; `errText` is for people. Mirrors the server's ProtocolError. */
export class HafniumError extends Error {
  readonly errID: string
  readonly errText: string
  readonly errPayload: Record<string, unknown> | undefined
  /** The whole reply envelope. */
  readonly reply: ReplyEnvelope<ErrorPayload>

  constructor(reply: ReplyEnvelope<ErrorPayload>) {
    const { errID, errText, errPayload } = errorPayloadOf(reply.payload)
    super(`${reply.type || '(no type)'}: ${errID}: ${errText}`)
    this.name = 'HafniumError'
    this.errID = errID
    this.errText = errText
    this.errPayload = errPayload
    this.reply = reply
  }

  /** `errPayload.retryAfter` (ms) when the server gave one, e.g. with `ratelimit_exceed`. */
  get retryAfter(): number | undefined {
    const value = this.errPayload?.retryAfter
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
  }
}

export type ConnectionErrorCode = 'invalid_url' | 'connect_failed' | 'timeout' | 'closed'

/** The socket could not be opened, or closed before a reply came, or no reply came in time. */
export class HafniumConnectionError extends Error {
  /**
   * The same on every runtime: `invalid_url`, `connect_failed` (the socket never opened), `timeout`
   * (no open or no reply in time), or `closed` (it closed under a request).
   */
  readonly code: ConnectionErrorCode
  /** Why `connect_failed`, when the runtime says (only the `ws` package does): `ECONNREFUSED`, `ENOTFOUND`… */
  readonly systemCode: string | undefined
  /** The HTTP status when the server refused the upgrade and the runtime says so (only `ws` does). */
  readonly status: number | undefined
  /** The close code when the connection closed under a request. */
  readonly closeCode: number | undefined

  constructor(message: string, details: { code: ConnectionErrorCode; systemCode?: string | undefined; status?: number | undefined; closeCode?: number; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'HafniumConnectionError'
    this.code = details.code
    this.systemCode = details.systemCode
    this.status = details.status
    this.closeCode = details.closeCode
  }
}

/** Reads an error payload defensively: a non-conforming server may send anything. */
function errorPayloadOf(payload: unknown): ErrorPayload {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>
  const errPayload = typeof p.errPayload === 'object' && p.errPayload !== null ? (p.errPayload as Record<string, unknown>) : undefined
  return {
    errID: typeof p.errID === 'string' ? p.errID : '(no errID)',
    errText: typeof p.errText === 'string' ? p.errText : '',
    ...(errPayload ? { errPayload } : {}),
  }
}
