// The pipeline every request frame goes through, from raw text to the one reply (style.md "life of one message").
import { ProtocolError, errors, type ErrID, type ErrPayload, closeCodes } from './errors.ts'
import { formatErrors, type Schemas } from './schemas.ts'
import type { AnyHandler, Connection, Deps, Session } from './handler.ts'
import type { Metrics } from './metrics.ts'
import { HasherBusyError } from './auth/passwords.ts'
import { auditOutcome } from './audit.ts'
import type { ExtensionRoute } from './extensions/handlers.ts'
import { serialisedOf } from './serialised.ts'
import { parseEnvelope } from './router/parse-envelope.ts'
import { contextMaker } from './router/context.ts'
import { buildTable, type Entry } from './router/table.ts'
import { failureAnswer } from './router/failures.ts'
import { rateGate } from './router/rate-gate.ts'

export interface Router {
  /**
   * Handles one frame: the serialized reply, or undefined when the connection was closed instead — a promise
   * of it only when something on the way had to wait (a session re-read, the captcha store, an async handler).
   */
  route(conn: Connection, raw: string): Answer | Promise<Answer>
  /** A refusal for a frame that is not routed (queue overflow), echoing its id/type when readable. */
  refuse(raw: string, errID: ErrID, errPayload?: ErrPayload): string
  readonly types: readonly string[]
}

/** A serialized reply, or undefined when the connection was closed instead. */
export type Answer = string | undefined

interface Envelope {
  id: string
  type: string
  to: string
  payload: Record<string, unknown>
}

export function createRouter(deps: Deps, handlers: readonly AnyHandler[], schemas: Schemas, metrics: Metrics, extensions: readonly ExtensionRoute[] = []): Router {
  const table = buildTable(handlers, schemas, extensions)
  const contextFor = contextMaker(deps)
  const { limiter, config, log } = deps
  const domains = new Set(config.server.domains)
  const defaultDomain = config.server.domains[0]

  const domainJSON = new Map(config.server.domains.map((domain) => [domain, JSON.stringify(domain)]))

  /**
   * The envelope written field by field, in JSON.stringify's order for { id, type, from, to?, ok, payload }:
   * a payload serialised ahead (serialised.ts: a cached profile) is spliced in, not serialised again.
   */
  function reply(id: string, type: string, from: string, conn: Connection | undefined, ok: boolean, payload: unknown): string {
    const to = conn === undefined ? undefined : conn.userIDJson ? conn.userIDJson() : userIDJsonOf(conn)
    const body = (typeof payload === 'object' && payload !== null && serialisedOf(payload)) || JSON.stringify(payload)
    return (
      '{"id":' + JSON.stringify(id) + ',"type":' + (table.get(type)?.json ?? JSON.stringify(type)) + ',"from":' + (domainJSON.get(from) ?? JSON.stringify(from)) +
      (to ? ',"to":' + to : '') + (ok ? ',"ok":true' : ',"ok":false') + (body === undefined ? '}' : ',"payload":' + body + '}')
    )
  }

  /** A refusal the router decides itself (no handler ran): counted here. */
  function error(id: string, type: string, from: string, conn: Connection | undefined, errID: ErrID, errPayload?: ErrPayload, errText?: string) {
    metrics.message(table.has(type) ? type : 'unknown', errID)
    return refusal(id, type, from, conn, errID, errPayload, errText)
  }

  function refusal(id: string, type: string, from: string, conn: Connection | undefined, errID: ErrID, errPayload?: ErrPayload | Record<string, unknown>, errText?: string) {
    const payload = errPayload ? { errID, errText: errText ?? errors[errID], errPayload } : { errID, errText: errText ?? errors[errID] }
    return reply(id, type, from, conn, false, payload)
  }

  const failure = failureAnswer(deps, metrics, refusal)
  const { charges, chargeType, rateLimited } = rateGate(deps, metrics, error)

  /** Charges the malformed-frame budget; past it the connection is closed with 1008. */
  function malformed(conn: Connection, id: string, type: string, errors: { path: string; message: string }[]) {
    if (limiter.takeRouted(limiter.malformedRules, conn) > 0) {
      metrics.message('unknown', 'malformed_message')
      conn.close(closeCodes.policyViolation, 'too many malformed messages')
      return undefined
    }
    return error(id, type, defaultDomain, conn, 'malformed_message', { errors })
  }

  /**
   * The frame's checks in order, as guard clauses. Nothing here awaits: a request whose path has nothing to
   * wait for (no session re-read due, no captcha gate, a handler returning a plain value) is answered with
   * no promise, and each wait hands the rest of the path to a small async tail (README > Performance:
   * server:ping ~7% less server CPU per trip than with route() async).
   */
  function route(conn: Connection, raw: string): Answer | Promise<Answer> {
    let message: unknown
    try {
      message = parseEnvelope(raw)
    } catch {
      return malformed(conn, '', '', [{ path: '', message: 'is not valid JSON' }])
    }
    const id = echo((message as Envelope | null)?.id, 64)
    const type = echo((message as Envelope | null)?.type, 128)

    const wait = limiter.takeRouted(limiter.everyMessageRules, conn)
    if (wait > 0) return rateLimited(id, type, conn, wait, charges(limiter.everyMessageRules, conn))

    if (!schemas.envelope(message)) {
      const errors = formatErrors(schemas.envelope.errors)
      log.debug({ connection: conn.id, requestID: id, type, errors }, 'envelope refused by its schema')
      return malformed(conn, id, type, errors)
    }
    const envelope = message as Envelope

    if (!domains.has(envelope.to)) return error(id, type, defaultDomain, conn, 'wrong_server')
    const entry = table.get(envelope.type)
    if (!entry) return error(id, type, envelope.to, conn, 'unhandled')
    // A device revoked where this node did not hear of it (another node's event lost, the admin CLI) is
    // found here within sessionCheckMs: its connections get profile:session_revoked and go on anonymous.
    const session = conn.session
    if (session && !deps.sessionCheck.fresh(session)) return recheckThenAdmit(session, entry, id, type, envelope, conn)
    return admit(entry, id, type, envelope, conn)
  }

  async function recheckThenAdmit(session: Session, entry: Entry, id: string, type: string, envelope: Envelope, conn: Connection): Promise<Answer> {
    let alive: boolean
    try {
      alive = await deps.sessionCheck.confirm(session)
    } catch (thrown) {
      // Unverified is not served: a busy database answers storage_busy, anything else internal_error.
      return failure(thrown, id, type, envelope.to, conn, performance.now())
    }
    if (!alive) deps.sessions.revokeDevice(session.accountID, session.deviceID, 'revoked')
    return admit(entry, id, type, envelope, conn)
  }

  /** route() past the session: auth, the type's rate limits (charged before the schema when cost-free), the payload, the handler. */
  function admit(entry: Entry, id: string, type: string, envelope: Envelope, conn: Connection): Answer | Promise<Answer> {
    if (entry.handler.auth === 'required' && !conn.session) return error(id, type, envelope.to, conn, 'auth_required')
    // An authenticated request "sees" its device (sessions.idleTimeout); batched, not written per message.
    if (conn.session) deps.seen.record(conn.session.deviceID, conn.address, deps.clock.now())

    const { cost } = entry.handler
    const gate = cost ? undefined : chargeType(id, type, envelope, conn, 1)
    if (gate) return gate.then((refused) => refused ?? validateThenRun(entry, id, type, envelope, conn), gateFailed(id, type, envelope, conn))
    return validateThenRun(entry, id, type, envelope, conn)
  }

  function validateThenRun(entry: Entry, id: string, type: string, envelope: Envelope, conn: Connection): Answer | Promise<Answer> {
    if (!entry.validate(envelope.payload)) {
      const errors = formatErrors(entry.validate.errors, '/payload')
      // Paths and schema messages only: the payload itself (maybe a password) is never logged.
      log.debug({ connection: conn.id, requestID: id, type, errors }, 'payload refused by its schema')
      return error(id, type, envelope.to, conn, 'invalid_payload', { errors })
    }
    const { cost } = entry.handler
    const gate = cost ? chargeType(id, type, envelope, conn, cost(envelope.payload)) : undefined
    if (gate) return gate.then((refused) => refused ?? run(entry, id, type, envelope, conn), gateFailed(id, type, envelope, conn))
    return run(entry, id, type, envelope, conn)
  }

  /** The captcha gate's store failing (a busy or full database answers storage_busy, as a handler's would). */
  const gateFailed = (id: string, type: string, envelope: Envelope, conn: Connection) => (thrown: unknown) => failure(thrown, id, type, envelope.to, conn, performance.now())

  /** Calls the handler; a handler may return its reply or a promise of it (a thenable), only the latter is awaited. */
  function run(entry: Entry, id: string, type: string, envelope: Envelope, conn: Connection): Answer | Promise<Answer> {
    const started = performance.now()
    const before = conn.session
    try {
      const result = entry.handler.handle(contextFor(type, id, envelope.payload, conn))
      if (typeof (result as { then?: unknown } | null)?.then === 'function') return settle(result as Promise<unknown>, id, type, envelope, conn, started, before)
      return succeeded(result, id, type, envelope, conn, started, before)
    } catch (thrown) {
      return failed(thrown, id, type, envelope, conn, started, before)
    }
  }

  async function settle(pending: Promise<unknown>, id: string, type: string, envelope: Envelope, conn: Connection, started: number, before: Session | null): Promise<Answer> {
    try {
      return succeeded(await pending, id, type, envelope, conn, started, before)
    } catch (thrown) {
      return failed(thrown, id, type, envelope, conn, started, before)
    }
  }

  function succeeded(result: unknown, id: string, type: string, envelope: Envelope, conn: Connection, started: number, before: Session | null): string {
    metrics.handled(type, 'ok', performance.now() - started)
    auditOutcome(log, type, envelope.payload, conn, before, { ok: true, result })
    return reply(id, type, envelope.to, conn, true, result)
  }

  function failed(thrown: unknown, id: string, type: string, envelope: Envelope, conn: Connection, started: number, before: Session | null): string {
    const answer = failure(thrown, id, type, envelope.to, conn, started)
    const errID = thrown instanceof ProtocolError ? thrown.errID : thrown instanceof HasherBusyError ? 'ratelimit_exceed' : 'internal_error'
    auditOutcome(log, type, envelope.payload, conn, before, { ok: false, errID })
    return answer
  }

  function refuse(raw: string, errID: ErrID, errPayload?: ErrPayload): string {
    let id = ''
    let type = ''
    try {
      const message = parseEnvelope(raw) as Envelope | null
      id = echo(message?.id, 64)
      type = echo(message?.type, 128)
    } catch {
      // not JSON: echo nothing
    }
    return error(id, type, defaultDomain, undefined, errID, errPayload)
  }

  return { route, refuse, types: [...table.keys()].sort() }
}

/** Connection.userIDJson for a connection without it (test fakes). */
function userIDJsonOf(conn: Connection): string | undefined {
  const to = conn.session?.userID
  return to ? JSON.stringify(to) : undefined
}

/** id/type are echoed only when they are usable strings (contract §3). */
function echo(value: unknown, maxLength: number): string {
  return typeof value === 'string' && value.length <= maxLength ? value : ''
}
