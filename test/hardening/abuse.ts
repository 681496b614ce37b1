// Helpers of the one-IP abuse scenarios (credential stuffing, registration flood): attempts sent in waves
// over many connections while a hand-driven clock steps between waves, replies tallied by outcome, and
// the router's rate-limit refusals read back from the server's metrics.
import type { HafniumServer } from '../../src/server.ts'
import type { Reply, TestClient } from '../support/client.ts'

export interface Attempt {
  type: string
  payload: object
}

export interface Tally {
  /** replies by outcome: "accepted" or the errID */
  outcomes: Record<string, number>
  /** every ratelimit_exceed or captcha_required reply, in the order the attempts were listed */
  refusals: Reply[]
  /** attempt index → reply */
  replies: Reply[]
}

/**
 * Sends `attempts` in `waves` consecutive slices; within a wave attempt j goes to client j mod n and all of
 * them are in flight at once (an attacker pipelines). Between waves `step()` runs (it advances the clock),
 * so the refill each wave sees is exact. `during(wave)` runs while that wave's requests are in flight.
 */
export async function sendWaves(
  clients: readonly TestClient[],
  attempts: readonly Attempt[],
  options: { waves: number; step(): void; during?: (wave: number) => Promise<void> },
): Promise<Tally> {
  const size = Math.ceil(attempts.length / options.waves)
  const replies: Reply[] = []
  for (let wave = 0; wave < options.waves; wave++) {
    if (wave > 0) options.step()
    const slice = attempts.slice(wave * size, (wave + 1) * size)
    const inFlight = slice.map((a, j) => clients[j % clients.length]!.request(a.type, a.payload))
    const [answers] = await Promise.all([Promise.all(inFlight), options.during?.(wave)])
    replies.push(...answers)
  }
  const outcomes: Record<string, number> = {}
  for (const reply of replies) {
    const key = reply.ok ? 'accepted' : (reply.payload.errID as string)
    outcomes[key] = (outcomes[key] ?? 0) + 1
  }
  return { outcomes, refusals: replies.filter((r) => !r.ok && (r.payload.errID === 'ratelimit_exceed' || r.payload.errID === 'captcha_required')), replies }
}

/**
 * ratelimit_exceed answers the router gave for `type` (an ip/connection rule refused before any handler
 * ran, so no argon2); handler-level refusals (login_account, the login backoff) are counted apart.
 */
export async function routerRefusals(server: HafniumServer, type: string): Promise<number> {
  const metric = server.metrics.registry.getSingleMetric('hafnium_ratelimit_rejections_total')
  if (!metric) throw new Error('no hafnium_ratelimit_rejections_total metric')
  const { values } = await metric.get()
  return values.find((v) => v.labels.type === type)?.value ?? 0
}

/** A captcha_required payload with its (random) challenge replaced by 'signed' when it carries a signature. */
export function withChallenge(payload: unknown): unknown {
  const p = payload as { errPayload?: { challenge?: { signature?: unknown } } }
  if (typeof p?.errPayload?.challenge?.signature !== 'string') return payload
  return { ...p, errPayload: { ...p.errPayload, challenge: 'signed' } }
}
