// Token buckets (contract §7): hot state in memory, the store as the durable record written in batches;
// on a store shared by several processes (PostgreSQL) the rules that guard secrets go to the database.
import type { RateBucketStore, BucketRow, BucketState, ChargeOnFind, TookOnFind } from './store/rate-buckets.ts'
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

/** Milliseconds until a bucket holding `tokens` has `cost` whole tokens; rounded up so retrying then succeeds. */
export function msUntilToken(tokens: number, rule: RuleConfig, cost = 1): number {
  return tokens >= cost ? 0 : Math.ceil(((cost - tokens) * 1000) / rule.refillPerSecond)
}

/** A request can never cost more than a full bucket: a larger one takes the whole bucket, once it is full. */
const costFor = (rule: RuleConfig, cost: number) => Math.min(cost, rule.capacity)

export type Charge = { rule: Rule; subject: string }

/**
 * Where the router's subjects of a request are read from: its connection (id, ip, and the session's user,
 * absent on an anonymous one). The connection itself, read at the charge: an object of the three values
 * built for every request (twice) was garbage on the path every message pays.
 */
export interface RoutedSubjects {
  readonly id: string
  readonly ip: string
  readonly session: { readonly userID: string } | null
}

/** The subject of a router rule for a request, undefined when it has none (user, anonymous). */
export function routedSubject(rule: Rule, subjects: RoutedSubjects): string | undefined {
  return rule.subject === 'connection' ? subjects.id : rule.subject === 'ip' ? subjects.ip : rule.subject === 'user' ? subjects.session?.userID : undefined
}

/** ratelimit_exceed from enforce(), naming the rule for the router's debug line (the wire gets only retryAfter). */
export class RuleRefusal extends ProtocolError {
  readonly rule: string
  constructor(rule: string, retryAfter: number) {
    super('ratelimit_exceed', { retryAfter })
    this.rule = rule
  }
}

export interface RateLimiter {
  readonly enabled: boolean
  /** Rules (connection/ip/user subjects) every frame is charged, types ["*"]. */
  readonly everyMessageRules: readonly Rule[]
  /** Rules the router charges for a message of `type` besides the "*" ones. */
  rulesForType(type: string): readonly Rule[]
  /** Rules charged for a frame that is not a valid envelope. */
  readonly malformedRules: readonly Rule[]
  /**
   * take() for router rules (subjects connection, ip, user) without building the charges: a rule whose
   * subject is absent (user, anonymous) is skipped. The router's per-request form.
   */
  takeRouted(rules: readonly Rule[], subjects: RoutedSubjects, cost?: number): number
  rule(name: string): Rule | undefined
  /** The second bucket a captcha rule's solved requests are charged to (same size, subject); undefined without captcha. */
  captchaRule(rule: Rule): Rule | undefined
  /**
   * Takes `cost` tokens (default one; at most a rule's capacity) from each bucket, or none if any holds
   * too few; returns the wait in ms (0 = allowed).
   */
  take(charges: readonly Charge[], cost?: number): number
  /** Milliseconds until take(charges) would succeed, taking nothing (0 = now). */
  wait(charges: readonly Charge[]): number
  /** take() for one named rule; throws ratelimit_exceed. Unknown or disabled rules allow. */
  enforce(ruleName: string, subject: string): void
  /**
   * Whether the rule's buckets live in the shared database rather than in this process's memory: the
   * handler-charged rules (subjects account, destination, requester_destination, the ones that bound
   * guessing a password or a code) on a store several processes share. Those are charged only through
   * takeExact/enforceExact; take() and wait() refuse them.
   */
  isShared(rule: Rule): boolean
  /**
   * take() for rules that must be exact across processes: in the database when they are shared (one round
   * trip), else in memory as take(). Returns the wait (0 = taken) and, when taken, the ms until every
   * bucket allows one more (e.g. a code's resendAfter).
   */
  takeExact(charges: readonly Charge[], cost?: number): Promise<{ wait: number; next: number }>
  /** enforce() through takeExact. */
  enforceExact(ruleName: string, subject: string): Promise<void>
  /**
   * enforceExact on the bucket `prefix + found.id` (or `otherwise` when nothing is found) of what `find`
   * finds. When the rule is shared, `find` gets the charge and may take it in the same round trip as its
   * read (returning `took`); without `took` (no charge, or a store that cannot), it is charged after the read.
   */
  enforceExactOnFind<T extends { id: string }>(
    ruleName: string,
    bucket: { prefix: string; otherwise: string },
    find: (charge: ChargeOnFind | undefined) => Promise<{ found: T | undefined; took?: TookOnFind | undefined }>,
  ): Promise<T | undefined>
  /** Forgets connection-scoped buckets of a closed connection. */
  dropConnection(connectionID: string): void
  /** Buckets held in memory (for tests and metrics). */
  bucketsInMemory(): number
  /** Estimated bytes those buckets take (keys included). */
  bytesInMemory(): number
  /** Buckets moved out of memory at the cap since start. */
  evictions(): number
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
  bytes: number
}

/**
 * What one entry costs in V8, roughly: the Map slot, the Entry object and its numbers, and the key and
 * subject strings (up to 2 bytes a character). Measured (node --expose-gc, 100,000 entries with
 * 29-character keys such as login_account + name:user-50000): 243 B each; this estimate says 254. That
 * was with one joined rule+subject key per entry; entries are now by rule, then subject, and the estimate
 * keeps that key's share as slack (not re-measured).
 */
const entryOverhead = 160
/** How often a node deletes the shared rules' rows that have refilled (a full bucket is the same as no row). */
const sharedSweepMs = 60_000
const entryBytes = (rule: Rule, subject: string) => entryOverhead + 2 * (rule.name.length + 1 + 2 * subject.length)

/** Subjects the router knows of every request, so charges by message type (`types`); the rest, where a handler knows them. */
export const routerSubjects: ReadonlySet<Subject> = new Set<Subject>(['connection', 'ip', 'user'])
/** Subjects a secret's guessing budget is counted by; exact across nodes on a shared store. */
const secretSubjects = new Set<Subject>(['account', 'destination', 'requester_destination'])

export function createRateLimiter(config: Config['ratelimit'], store: RateBucketStore, clock: Clock): RateLimiter {
  const rules = new Map<string, Rule>()
  for (const [name, rule] of Object.entries(config.rules)) rules.set(name, { ...rule, name })
  // Rule names match ^[a-z][a-z0-9_]*$, so "<name>:captcha" cannot collide with a configured rule.
  const captchaRules = new Map<string, Rule>()
  for (const rule of [...rules.values()]) {
    if (!rule.captcha) continue
    const companion: Rule = { name: `${rule.name}:captcha`, subject: rule.subject, capacity: rule.capacity, refillPerSecond: rule.refillPerSecond }
    captchaRules.set(rule.name, companion)
    rules.set(companion.name, companion)
  }
  const everyType = [...rules.values()].filter((r) => routerSubjects.has(r.subject) && r.types?.includes('*'))
  const malformedRules = [...rules.values()].filter((r) => r.types?.includes('malformed'))
  const byType = new Map<string, Rule[]>()
  // By rule, then subject: a joined "rule\0subject" key was a string built and hashed on every charge.
  const entries = new Map<string, Map<string, Entry>>()
  let count = 0
  const connectionRules = [...rules.values()].filter((r) => r.subject === 'connection')
  let bytes = 0
  let evicted = 0
  const takeShared = store.takeShared?.bind(store)
  const isShared = (rule: Rule) => takeShared !== undefined && secretSubjects.has(rule.subject)
  /** A shared rule counted in memory would be a second, per-node budget: a bug, said loudly. */
  const local = (charges: readonly Charge[]) => {
    for (const { rule } of charges) if (isShared(rule)) throw new Error(`rate limit rule ${rule.name} is shared: charge it with takeExact`)
  }
  let lastSharedSweep = 0

  function entryFor(rule: Rule, subject: string, now: number): Entry {
    let ofRule = entries.get(rule.name)
    if (!ofRule) entries.set(rule.name, (ofRule = new Map()))
    let entry = ofRule.get(subject)
    if (!entry) {
      const stored = rule.subject === 'connection' ? undefined : store.load(rule.name, subject)
      entry = {
        rule,
        subject,
        tokens: stored?.tokens ?? rule.capacity,
        updatedAt: stored?.updatedAt ?? now,
        dirty: false,
        persisted: stored !== undefined,
        bytes: entryBytes(rule, subject),
      }
      ofRule.set(subject, entry)
      count++
      bytes += entry.bytes
    }
    return entry
  }

  function forget(entry: Entry): void {
    if (entries.get(entry.rule.name)?.delete(entry.subject)) {
      count--
      bytes -= entry.bytes
    }
  }

  function* allEntries(): Generator<Entry> {
    for (const ofRule of entries.values()) yield* ofRule.values()
  }

  /**
   * At the cap (the map is keyed by client input: login names, destinations): write every dirty bucket
   * to SQLite, then drop the fullest from memory until a tenth of the cap is free. Nothing is reset: an
   * evicted bucket is reloaded from its row, so flooding distinct keys cannot refill a drained bucket,
   * and the fullest go first because they are the cheapest to reload and the least likely to matter.
   * Connection buckets are not persisted; they are bounded by the connection caps, so they stay.
   */
  function makeRoom(now: number): void {
    if (count < config.maxBuckets && bytes < config.maxBucketBytes) return
    limiter.flush()
    // Rows of buckets evicted earlier and never touched again would otherwise stay on disk for good.
    for (const rule of rules.values()) if (rule.subject !== 'connection') store.deleteRefilled(rule.name, rule.capacity, rule.refillPerSecond, now)
    const targetCount = Math.floor(config.maxBuckets * 0.9)
    const targetBytes = Math.floor(config.maxBucketBytes * 0.9)
    if (count <= targetCount && bytes <= targetBytes) return
    const candidates: [Entry, number][] = []
    for (const entry of allEntries()) {
      if (entry.rule.subject !== 'connection') candidates.push([entry, refill(entry, entry.rule, now) / entry.rule.capacity])
    }
    candidates.sort((a, b) => b[1] - a[1])
    for (const [entry] of candidates) {
      if (count <= targetCount && bytes <= targetBytes) break
      forget(entry)
      evicted++
    }
  }

  /** Refills `entry` to `now`; the ms until it holds `cost` tokens (0 = it does). */
  function refilled(entry: Entry, now: number, cost: number): number {
    entry.tokens = refill(entry, entry.rule, now)
    entry.updatedAt = now
    return msUntilToken(entry.tokens, entry.rule, costFor(entry.rule, cost))
  }
  function spend(entry: Entry, cost: number): void {
    entry.tokens -= costFor(entry.rule, cost)
    entry.dirty = entry.rule.subject !== 'connection'
  }

  function take(charges: readonly Charge[], cost = 1): number {
    if (!config.enabled || charges.length === 0 || cost <= 0) return 0
    local(charges)
    const now = clock.now()
    // Before taking any entry: evicting one already held would lose this charge.
    makeRoom(now)
    let wait = 0
    const touched: Entry[] = []
    for (const { rule, subject } of charges) {
      const entry = entryFor(rule, subject, now)
      wait = Math.max(wait, refilled(entry, now, cost))
      touched.push(entry)
    }
    if (wait > 0) return wait
    for (const entry of touched) spend(entry, cost)
    return 0
  }

  /** take() over router rules, in two passes over the rules instead of a charges array. */
  function takeRouted(routed: readonly Rule[], subjects: RoutedSubjects, cost = 1): number {
    if (!config.enabled || routed.length === 0 || cost <= 0) return 0
    const now = clock.now()
    makeRoom(now)
    let wait = 0
    for (const rule of routed) {
      const subject = routedSubject(rule, subjects)
      if (subject !== undefined) wait = Math.max(wait, refilled(entryFor(rule, subject, now), now, cost))
    }
    if (wait > 0) return wait
    for (const rule of routed) {
      const subject = routedSubject(rule, subjects)
      if (subject !== undefined) spend(entryFor(rule, subject, now), cost)
    }
    return 0
  }

  const limiter: RateLimiter = {
    enabled: config.enabled,
    takeRouted,
    everyMessageRules: everyType,
    malformedRules,
    rule: (name) => rules.get(name),
    captchaRule: (rule) => captchaRules.get(rule.name),
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
      local(charges)
      const now = clock.now()
      makeRoom(now)
      let wait = 0
      for (const { rule, subject } of charges) wait = Math.max(wait, msUntilToken(refill(entryFor(rule, subject, now), rule, now), rule))
      return wait
    },
    enforce(ruleName, subject) {
      const rule = rules.get(ruleName)
      if (!rule) return
      const wait = take([{ rule, subject }])
      if (wait > 0) throw new RuleRefusal(rule.name, wait)
    },
    isShared,
    async takeExact(charges, cost = 1) {
      if (!config.enabled || charges.length === 0 || cost <= 0) return { wait: 0, next: 0 }
      const shared = charges.filter((c) => isShared(c.rule))
      if (shared.length === 0) {
        const wait = take(charges, cost)
        return { wait, next: wait > 0 ? wait : limiter.wait(charges) }
      }
      if (shared.length !== charges.length) throw new Error('takeExact: shared and per-node rules cannot be charged together')
      const now = clock.now()
      const result = await takeShared!(
        charges.map(({ rule, subject }) => ({ rule: rule.name, subject, capacity: rule.capacity, refillPerSecond: rule.refillPerSecond, cost: costFor(rule, cost) })),
        now,
      )
      const waits = (need: (rule: Rule) => number) =>
        Math.max(0, ...result.buckets.map((bucket: BucketState, i) => msUntilToken(refill(bucket, charges[i]!.rule, now), charges[i]!.rule, need(charges[i]!.rule))))
      return result.taken ? { wait: 0, next: waits(() => 1) } : { wait: Math.max(1, waits((rule) => costFor(rule, cost))), next: 0 }
    },
    async enforceExact(ruleName, subject) {
      const rule = rules.get(ruleName)
      if (!rule) return
      const { wait } = await limiter.takeExact([{ rule, subject }])
      if (wait > 0) throw new RuleRefusal(rule.name, wait)
    },
    async enforceExactOnFind(ruleName, bucket, find) {
      const rule = rules.get(ruleName)
      const shared = rule !== undefined && config.enabled && isShared(rule)
      const now = clock.now()
      const { found, took } = await find(shared ? { rule: rule.name, capacity: rule.capacity, refillPerSecond: rule.refillPerSecond, cost: costFor(rule, 1), subjectPrefix: bucket.prefix, otherwise: bucket.otherwise, now } : undefined)
      const subject = found ? bucket.prefix + found.id : bucket.otherwise
      if (!took) {
        await limiter.enforceExact(ruleName, subject)
        return found
      }
      if (took.subject !== subject) throw new Error(`rate limit rule ${ruleName}: charged ${took.subject}, not ${subject}`)
      if (!took.taken) throw new RuleRefusal(rule!.name, Math.max(1, msUntilToken(refill(took.bucket, rule!, now), rule!, costFor(rule!, 1))))
      return found
    },
    bucketsInMemory: () => count,
    bytesInMemory: () => bytes,
    evictions: () => evicted,
    dropConnection(connectionID) {
      for (const rule of connectionRules) {
        const entry = entries.get(rule.name)?.get(connectionID)
        if (entry) forget(entry)
      }
    },
    flush() {
      const now = clock.now()
      const save: BucketRow[] = []
      const remove: BucketRow[] = []
      for (const entry of allEntries()) {
        if (entry.rule.subject === 'connection') {
          // Idle sockets would otherwise each keep a bucket; a full one is recreated full on demand.
          if (refill(entry, entry.rule, now) >= entry.rule.capacity) forget(entry)
          continue
        }
        // A bucket that has refilled completely is the same as no bucket: forget it, in memory and on disk.
        if (refill(entry, entry.rule, now) >= entry.rule.capacity) {
          forget(entry)
          if (entry.persisted) remove.push(toRow(entry))
        } else if (entry.dirty) {
          save.push(toRow(entry))
          entry.dirty = false
          entry.persisted = true
        }
      }
      if (save.length || remove.length) store.write(save, remove)
      // Shared buckets never pass through memory; their rows that have refilled are swept here, now and then.
      if (takeShared && now - lastSharedSweep >= sharedSweepMs) {
        lastSharedSweep = now
        for (const rule of rules.values()) if (isShared(rule)) store.deleteRefilled(rule.name, rule.capacity, rule.refillPerSecond, now)
      }
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
