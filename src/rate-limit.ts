// Token buckets (contract §7): hot state in memory, SQLite as the durable record written in batches.
import type { RateBucketStore, BucketRow } from './store/rate-buckets.ts'
import type { Config } from './types/schemas.ts'
import { ProtocolError } from './errors.ts'

export type RuleConfig = Config['ratelimit']['rules'][string]
export type Subject = RuleConfig['subject']
export interface Rule extends RuleConfig {
  name: string
}

export interface Clock {
  now(): number
}

export interface Bucket {
  tokens: number
  updatedAt: number
}

/** Tokens after refilling up to `now` (pure: used by tests and by the limiter). */
export function refill(bucket: Bucket, rule: RuleConfig, now: number): number {
  const elapsed = Math.max(0, now - bucket.updatedAt)
  return Math.min(rule.capacity, bucket.tokens + (elapsed * rule.refillPerSecond) / 1000)
}

/** Milliseconds until a bucket holding `tokens` has one whole token; rounded up so retrying then succeeds. */
export function msUntilToken(tokens: number, rule: RuleConfig): number {
  return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / rule.refillPerSecond)
}

export type Charge = { rule: Rule; subject: string }

export interface RateLimiter {
  readonly enabled: boolean
  /** Rules (connection/ip/user subjects) every frame is charged, types ["*"]. */
  readonly everyMessageRules: readonly Rule[]
  /** Rules the router charges for a message of `type` besides the "*" ones. */
  rulesForType(type: string): readonly Rule[]
  /** Rules charged for a frame that is not a valid envelope. */
  readonly malformedRules: readonly Rule[]
  rule(name: string): Rule | undefined
  /** Takes one token from each bucket, or none if any is empty; returns the wait in ms (0 = allowed). */
  take(charges: readonly Charge[]): number
  /** Milliseconds until take(charges) would succeed, taking nothing (0 = now). */
  wait(charges: readonly Charge[]): number
  /** take() for one named rule; throws ratelimit_exceed. Unknown or disabled rules allow. */
  enforce(ruleName: string, subject: string): void
  /** Forgets connection-scoped buckets of a closed connection. */
  dropConnection(connectionID: string): void
  /** Buckets held in memory (for tests and metrics). */
  bucketsInMemory(): number
  /** Writes dirty buckets to the store and evicts full ones. */
  flush(): void
  close(): void
}

interface Entry extends Bucket {
  rule: Rule
  subject: string
  dirty: boolean
  /** a row for this bucket exists in the store */
  persisted: boolean
}

const routerSubjects = new Set<Subject>(['connection', 'ip', 'user'])

export function createRateLimiter(config: Config['ratelimit'], store: RateBucketStore, clock: Clock): RateLimiter {
  const rules = new Map<string, Rule>()
  for (const [name, rule] of Object.entries(config.rules)) rules.set(name, { ...rule, name })
  const everyType = [...rules.values()].filter((r) => routerSubjects.has(r.subject) && r.types?.includes('*'))
  const malformedRules = [...rules.values()].filter((r) => r.types?.includes('malformed'))
  const byType = new Map<string, Rule[]>()
  const entries = new Map<string, Entry>()
  const connectionRules = [...rules.values()].filter((r) => r.subject === 'connection')

  function entryFor(rule: Rule, subject: string, now: number): Entry {
    const key = rule.name + '\u0000' + subject
    let entry = entries.get(key)
    if (!entry) {
      const stored = rule.subject === 'connection' ? undefined : store.load(rule.name, subject)
      entry = {
        rule,
        subject,
        tokens: stored?.tokens ?? rule.capacity,
        updatedAt: stored?.updatedAt ?? now,
        dirty: false,
        persisted: stored !== undefined,
      }
      entries.set(key, entry)
    }
    return entry
  }

  function take(charges: readonly Charge[]): number {
    if (!config.enabled || charges.length === 0) return 0
    const now = clock.now()
    let wait = 0
    const touched: Entry[] = []
    for (const { rule, subject } of charges) {
      const entry = entryFor(rule, subject, now)
      entry.tokens = refill(entry, rule, now)
      entry.updatedAt = now
      wait = Math.max(wait, msUntilToken(entry.tokens, rule))
      touched.push(entry)
    }
    if (wait > 0) return wait
    for (const entry of touched) {
      entry.tokens -= 1
      entry.dirty = entry.rule.subject !== 'connection'
    }
    return 0
  }

  const limiter: RateLimiter = {
    enabled: config.enabled,
    everyMessageRules: everyType,
    malformedRules,
    rule: (name) => rules.get(name),
    rulesForType(type) {
      let list = byType.get(type)
      if (!list) {
        list = [...rules.values()].filter((r) => routerSubjects.has(r.subject) && r.types?.includes(type))
        byType.set(type, list)
      }
      return list
    },
    take,
    wait(charges) {
      if (!config.enabled) return 0
      const now = clock.now()
      let wait = 0
      for (const { rule, subject } of charges) wait = Math.max(wait, msUntilToken(refill(entryFor(rule, subject, now), rule, now), rule))
      return wait
    },
    enforce(ruleName, subject) {
      const rule = rules.get(ruleName)
      if (!rule) return
      const wait = take([{ rule, subject }])
      if (wait > 0) throw new ProtocolError('ratelimit_exceed', { retryAfter: wait })
    },
    bucketsInMemory: () => entries.size,
    dropConnection(connectionID) {
      for (const rule of connectionRules) entries.delete(rule.name + '\u0000' + connectionID)
    },
    flush() {
      const now = clock.now()
      const save: BucketRow[] = []
      const remove: BucketRow[] = []
      for (const [key, entry] of entries) {
        if (entry.rule.subject === 'connection') {
          // Idle sockets would otherwise each keep a bucket; a full one is recreated full on demand.
          if (refill(entry, entry.rule, now) >= entry.rule.capacity) entries.delete(key)
          continue
        }
        // A bucket that has refilled completely is the same as no bucket: forget it, in memory and on disk.
        if (refill(entry, entry.rule, now) >= entry.rule.capacity) {
          entries.delete(key)
          if (entry.persisted) remove.push(toRow(entry))
        } else if (entry.dirty) {
          save.push(toRow(entry))
          entry.dirty = false
          entry.persisted = true
        }
      }
      if (save.length || remove.length) store.write(save, remove)
    },
    close() {
      limiter.flush()
    },
  }
  return limiter
}

function toRow(entry: Entry): BucketRow {
  return { rule: entry.rule.name, subject: entry.subject, tokens: entry.tokens, updatedAt: entry.updatedAt }
}
