// The pipeline every request frame goes through, from raw text to the one reply (style.md "life of one message").
import { ProtocolError, errors, type ErrID, type ErrPayload, closeCodes } from './errors.ts'
import { formatErrors, type Schemas } from './schemas.ts'
import type { AnyHandler, Connection, Context, Deps, MessageType, Session } from './handler.ts'
import { RuleRefusal, routedSubject, type Charge, type Rule } from './rate-limit.ts'
import type { Metrics } from './metrics.ts'
import { isDiskFull, isRetryableStorageError, storageRetryAfterMs } from './store/errors.ts'
import { HasherBusyError } from './auth/passwords.ts'
import { auditOutcome } from './audit.ts'
import { ExtensionRefusalError, type ExtensionRoute } from './extensions/handlers.ts'
import { serialisedOf } from './serialised.ts'

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

  /** The charges behind a refusal (built only then: an admitted request charges through takeRouted). */
  function charges(rules: readonly Rule[], conn: Connection): Charge[] {
    const list: Charge[] = []
    for (const rule of rules) {
      const subject = routedSubject(rule, conn)
      if (subject !== undefined) list.push({ rule, subject })
    }
    return list
  }

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
      message = JSON.parse(raw)
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

  function failure(thrown: unknown, id: string, type: string, from: string, conn: Connection, started: number) {
    const elapsed = performance.now() - started
    if (thrown instanceof ExtensionRefusalError) {
      // An extension's own errIDs are counted as "other" by metrics (a bounded label set).
      metrics.handled(type, thrown.errID, elapsed)
      return refusal(id, type, from, conn, thrown.errID as ErrID, thrown.errPayload, thrown.errText)
    }
    if (thrown instanceof ProtocolError) {
      metrics.handled(type, thrown.errID, elapsed)
      if (thrown.errID === 'ratelimit_exceed') metrics.rateLimited('handler')
      if (thrown instanceof RuleRefusal) {
        log.debug({ connection: conn.id, ip: conn.address, requestID: id, type, rules: [thrown.rule], retryAfter: thrown.errPayload?.retryAfter }, 'rate limit: refused')
      }
      return refusal(id, type, from, conn, thrown.errID, thrown.errPayload)
    }
    if (thrown instanceof HasherBusyError) {
      // More argon2 work is waiting than password.maxQueuedHashes allows: refused, not queued.
      metrics.handled(type, 'ratelimit_exceed', elapsed)
      metrics.rateLimited(type)
      return refusal(id, type, from, conn, 'ratelimit_exceed', { retryAfter: 1000 })
    }
    if (isRetryableStorageError(thrown)) {
      if (isDiskFull(thrown)) deps.store.onDiskFull?.()
      metrics.handled(type, 'storage_busy', elapsed)
      log.warn({ err: thrown, requestID: id, type }, 'storage unavailable; answered storage_busy')
      return refusal(id, type, from, conn, 'storage_busy', { retryAfter: storageRetryAfterMs })
    }
    metrics.handled(type, 'internal_error', elapsed)
    // Logged once with the request id; the client learns nothing internal.
    log.error({ err: thrown, requestID: id, type, connection: conn.id }, 'handler failed')
    return refusal(id, type, from, conn, 'internal_error')
  }

  /**
   * Charges the type's own rules `cost` tokens; undefined = admitted, else the captcha gate's decision
   * (undefined = admitted there, else the refusal). Not async: an admitted request, nearly every one, pays
   * no promise for it.
   */
  function chargeType(id: string, type: string, envelope: Envelope, conn: Connection, cost: number) {
    const rules = limiter.rulesForType(type)
    if (rules.length === 0 || cost <= 0) return undefined
    const wait = limiter.takeRouted(rules, conn, cost)
    return wait > 0 ? captchaGate(id, type, envelope, conn, charges(rules, conn), wait, cost) : undefined
  }

  /**
   * A type's buckets are empty. If every empty one is a captcha rule, a request carrying a solved
   * challenge is charged to the rules' second buckets instead (charged before verifying, so wrong
   * solutions spend that budget too); one without a solution gets a challenge. Past the second buckets,
   * or for other rules, ratelimit_exceed as before. Undefined = admitted.
   */
  async function captchaGate(id: string, type: string, envelope: Envelope, conn: Connection, typeCharges: Charge[], typeWait: number, cost: number) {
    const empty = typeCharges.filter((charge) => limiter.wait([charge]) > 0)
    // A cost above one can be refused with no bucket empty: no captcha step then.
    if (empty.length === 0) return rateLimited(id, type, conn, typeWait, typeCharges, envelope.to)
    const companions: Charge[] = []
    for (const { rule, subject } of empty) {
      const companion = limiter.captchaRule(rule)
      if (!companion) return rateLimited(id, type, conn, typeWait, empty, envelope.to)
      companions.push({ rule: companion, subject })
    }
    const rest = typeCharges.filter((charge) => !empty.includes(charge))
    const second = [...rest, ...companions]
    if (limiter.wait(second) > 0) return rateLimited(id, type, conn, typeWait, second, envelope.to)
    const rules = names(empty)
    const solution = (envelope.payload as { captcha?: unknown } | null)?.captcha
    if (typeof solution !== 'string') {
      log.debug({ connection: conn.id, ip: conn.address, requestID: id, type, rules }, 'rate limit: captcha required')
      metrics.rateLimited(type)
      return error(id, type, envelope.to, conn, 'captcha_required', { challenge: await deps.captcha.challenge(), retryAfter: typeWait })
    }
    if (limiter.take(second, cost) > 0) return rateLimited(id, type, conn, typeWait, second, envelope.to)
    const verified = await deps.captcha.verify(solution)
    log.debug({ connection: conn.id, ip: conn.address, requestID: id, type, rules: names(second), verified }, verified ? 'rate limit: admitted with a captcha' : 'rate limit: captcha invalid')
    return verified ? undefined : error(id, type, envelope.to, conn, 'captcha_invalid')
  }

  /**
   * ratelimit_exceed, logged at debug naming the rules that refused: those of `charged` whose bucket is
   * short (all of them when a cost above one was refused with none empty).
   */
  function rateLimited(id: string, type: string, conn: Connection, wait: number, charged: readonly Charge[], from = defaultDomain) {
    const short = charged.filter((charge) => limiter.wait([charge]) > 0)
    const rules = names(short.length > 0 ? short : charged)
    log.debug({ connection: conn.id, ip: conn.address, requestID: id, type, rules, retryAfter: wait }, 'rate limit: refused')
    metrics.rateLimited(type)
    return error(id, type, from, conn, 'ratelimit_exceed', { retryAfter: wait })
  }

  /** The rules' names, for the debug log. */
  function names(list: readonly Charge[]): string[] {
    return list.map((charge) => charge.rule.name)
  }

  function refuse(raw: string, errID: ErrID, errPayload?: ErrPayload): string {
    let id = ''
    let type = ''
    try {
      const message = JSON.parse(raw) as Envelope | null
      id = echo(message?.id, 64)
      type = echo(message?.type, 128)
    } catch {
      // not JSON: echo nothing
    }
    return error(id, type, defaultDomain, undefined, errID, errPayload)
  }

  return { route, refuse, types: [...table.keys()].sort() }
}

/**
 * Makes the handlers' contexts: a request's own four fields on the object, the dependencies behind getters
 * on its prototype, read from `deps` at each use (tests swap a dependency, the clock or the hasher, on a
 * running server). `{ ...deps, … }` made every message leave ~1.5 KB that survived two scavenges (V8
 * promoted it), so old space filled and mark-compacts paused the loop every ~3 s (bench, server:ping at
 * 10k/s); copying the 13 dependencies field by field still built a 17-field object per request.
 */
function contextMaker(deps: Deps): (type: string, requestID: string, payload: Record<string, unknown>, conn: Connection) => Context<MessageType> {
  class RequestContext {
    constructor(
      readonly type: string,
      readonly requestID: string,
      readonly payload: Record<string, unknown>,
      readonly conn: Connection,
    ) {}
    get config() { return deps.config }
    get store() { return deps.store }
    get clock() { return deps.clock }
    get limiter() { return deps.limiter }
    get log() { return deps.log }
    get sessions() { return deps.sessions }
    get seen() { return deps.seen }
    get passwords() { return deps.passwords }
    get nameBackoff() { return deps.nameBackoff }
    get captcha() { return deps.captcha }
    get oidc() { return deps.oidc }
    get delivery() { return deps.delivery }
    get server() { return deps.server }
  }
  return (type, requestID, payload, conn) => new RequestContext(type, requestID, payload, conn) as unknown as Context<MessageType>
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

/** A routed type: its handler, its payload's validator, and the type as a JSON string (written into every reply). */
interface Entry {
  handler: AnyHandler
  validate: NonNullable<ReturnType<Schemas['validatorFor']>>
  json: string
}

/**
 * Refuses to start on a duplicate type, a handler without schemas, or a request schema without a handler.
 * Extension types bring their own compiled payload schema and no reply schema.
 */
function buildTable(handlers: readonly AnyHandler[], schemas: Schemas, extensions: readonly ExtensionRoute[]) {
  const table = new Map<string, Entry>()
  for (const handler of handlers) {
    if (table.has(handler.type)) throw new Error(`two handlers for ${handler.type}`)
    const validate = schemas.validatorFor(handler.type, 'request')
    if (!validate) throw new Error(`handler ${handler.type} has no schema ${handler.type.replace(':', '/')}.json`)
    if (!schemas.validatorFor(handler.type, 'reply')) throw new Error(`handler ${handler.type} has no reply schema`)
    table.set(handler.type, { handler, validate, json: JSON.stringify(handler.type) })
  }
  for (const type of schemas.typesWith('request')) {
    if (!table.has(type)) throw new Error(`schema for ${type} has no handler`)
  }
  for (const { handler, validate } of extensions) {
    if (table.has(handler.type)) throw new Error(`two handlers for ${handler.type}`)
    table.set(handler.type, { handler, validate, json: JSON.stringify(handler.type) })
  }
  return table
}
