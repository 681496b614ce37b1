// The router's rate limits past the per-message rules: a type's own rules, the captcha gate when one of them
// is empty, and the ratelimit_exceed refusal naming the rules that refused.
import type { ErrID, ErrPayload } from '../errors.ts'
import type { Connection, Deps } from '../handler.ts'
import { routedSubject, type Charge, type Rule } from '../rate-limit.ts'
import type { Metrics } from '../metrics.ts'

/** A refusal the router decides itself, counted (router.ts's error()). */
export type ErrorWriter = (id: string, type: string, from: string, conn: Connection | undefined, errID: ErrID, errPayload?: ErrPayload) => string

/** The request as far as the gate reads it. */
interface Routed {
  to: string
  payload: Record<string, unknown>
}

export function rateGate(deps: Deps, metrics: Metrics, error: ErrorWriter) {
  const { limiter, log } = deps
  const defaultDomain = deps.config.server.domains[0]!

  /** The charges behind a refusal (built only then: an admitted request charges through takeRouted). */
  function charges(rules: readonly Rule[], conn: Connection): Charge[] {
    const list: Charge[] = []
    for (const rule of rules) {
      const subject = routedSubject(rule, conn)
      if (subject !== undefined) list.push({ rule, subject })
    }
    return list
  }

  /**
   * Charges the type's own rules `cost` tokens; undefined = admitted, else the captcha gate's decision
   * (undefined = admitted there, else the refusal). Not async: an admitted request, nearly every one, pays
   * no promise for it.
   */
  function chargeType(id: string, type: string, envelope: Routed, conn: Connection, cost: number) {
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
  async function captchaGate(id: string, type: string, envelope: Routed, conn: Connection, typeCharges: Charge[], typeWait: number, cost: number) {
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

  return { charges, chargeType, rateLimited }
}
