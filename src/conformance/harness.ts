// Runs checks and records results; opens the suite's connections and waits out rate limits (bounded).
import { randomBytes } from 'node:crypto'
import { HafniumClient, HafniumError, type EventEnvelope, type ReplyEnvelope, type WebSocketConstructor } from '../client/index.ts'
import { CheckFailure } from './expect.ts'

export interface CheckResult {
  name: string
  group: string
  status: 'pass' | 'fail' | 'skip'
  reason?: string
  ms: number
}

export interface HarnessOptions {
  url: string
  domain: string
  /** The longest `retryAfter` waited for before a rate-limited request counts as failed. */
  maxWaitMs: number
  timeoutMs: number
  WebSocket?: WebSocketConstructor
  onResult(result: CheckResult): void
}

export class Harness {
  readonly options: HarnessOptions
  readonly results: CheckResult[] = []
  group = ''
  readonly #clients = new Set<HafniumClient>()

  constructor(options: HarnessOptions) {
    this.options = options
  }

  get domain(): string {
    return this.options.domain
  }

  /** A new connection, closed when the suite ends. Reconnects on demand (servers close idle anonymous sockets). */
  async connect(): Promise<HafniumClient> {
    const client = await HafniumClient.connect(this.options.url, {
      domain: this.options.domain,
      WebSocket: this.options.WebSocket,
      requestTimeoutMs: this.options.timeoutMs,
      connectTimeoutMs: this.options.timeoutMs,
      reconnect: { maxAttempts: 3 },
      retryRateLimited: { maxWaitMs: this.options.maxWaitMs, maxAttempts: 4 },
    })
    this.#clients.add(client)
    return client
  }

  /**
   * Sends a request and returns the whole reply, ok or not — after waiting out `ratelimit_exceed` or
   * `captcha_required` (which carries the same retryAfter; the suite does not solve challenges)
   * (its retryAfter, at most maxWaitMs, three times): a default server allows few registrations per IP.
   */
  async call(client: HafniumClient, type: string, payload: object = {}): Promise<ReplyEnvelope> {
    for (let attempt = 1; ; attempt++) {
      const reply = await client.send({ type, payload })
      const error = reply.ok ? undefined : new HafniumError(reply as ReplyEnvelope<never>)
      if ((error?.errID !== 'ratelimit_exceed' && error?.errID !== 'captcha_required') || attempt > 3) return reply
      const wait = error.retryAfter ?? 1000
      if (wait > this.options.maxWaitMs) return reply
      await sleep(wait + 50)
    }
  }

  /**
   * The next event of `type` on `client`, or undefined after the timeout; never rejects, so it can be
   * started before the request that causes the event and awaited after it.
   */
  awaitEvent(client: HafniumClient, type: string): Promise<EventEnvelope | undefined> {
    return client.nextEvent(type, { timeoutMs: this.options.timeoutMs }).catch(() => undefined)
  }

  /** Runs one check unless one it needs did not pass; records PASS, FAIL (with the reason) or SKIP. */
  async check(name: string, fn: () => Promise<void | { skip: string }>, options: { needs?: string[] } = {}): Promise<boolean> {
    const missing = (options.needs ?? []).filter((need) => this.status(need) !== 'pass')
    if (missing.length > 0) {
      this.skip(name, `needs ${missing.join(', ')}`)
      return false
    }
    const started = Date.now()
    try {
      const outcome = await fn()
      if (outcome && 'skip' in outcome) this.skip(name, outcome.skip, Date.now() - started)
      else this.record({ name, group: this.group, status: 'pass', ms: Date.now() - started })
    } catch (error) {
      const reason = error instanceof CheckFailure ? error.message : `${(error as Error).name === 'Error' ? '' : `${(error as Error).name}: `}${(error as Error).message}`
      this.record({ name, group: this.group, status: 'fail', reason, ms: Date.now() - started })
    }
    return this.status(name) === 'pass'
  }

  skip(name: string, reason: string, ms = 0): void {
    this.record({ name, group: this.group, status: 'skip', reason, ms })
  }

  status(name: string): CheckResult['status'] | undefined {
    return this.results.find((r) => r.name === name)?.status
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#clients].map((client) => client.close()))
    this.#clients.clear()
  }

  record(result: CheckResult): void {
    this.results.push(result)
    this.options.onResult(result)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Lowercase letters and digits, for throwaway names nobody else uses. */
export function randomName(length = 10): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('')
}

export function randomDigits(length: number): string {
  return [...randomBytes(length)].map((byte) => String(byte % 10)).join('')
}
