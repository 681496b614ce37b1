// HafniumClient: requests typed by the schemas, events as callbacks or an async iterator, login helpers.
import { CaptchaError, encodeSolution, solveChallenge } from './captcha.ts'
import { Channel } from './channel.ts'
import { requestDeviceAuthorization, type DeviceAuthorization } from './device-authorization.ts'
import { createEmitter, createQueue, type Queue, type Unsubscribe } from './emitter.ts'
import { HafniumConnectionError, HafniumError } from './errors.ts'
import { normaliseUrl } from './socket.ts'
import { captchaOptions, createTimers, retryOptions } from './timing.ts'
import type {
  CaptchaEvent, CaptchaOptions, ClientOptions, ErrorPayload, EventEnvelope, EventPayload, ReplyEnvelope, ReplyPayload, RequestOptions, RequestPayload, Session, Status,
} from './types.ts'

export class HafniumClient {
  readonly url: string
  /** Frames the client could not match (not JSON, or answering nothing it sent): for debugging tools. */
  onStray: ((frame: unknown, text: string) => void) | undefined
  /** Every text frame as it arrives, before replies and events are dispatched: for tools that log the wire in order. */
  onFrame: ((text: string) => void) | undefined

  readonly #options: ClientOptions
  readonly #channel: Channel
  readonly #timers = createTimers()
  readonly #events = createEmitter<[unknown, EventEnvelope]>()
  readonly #statuses = createEmitter<[Status]>()
  readonly #queues = new Set<Queue<EventEnvelope>>()
  readonly #captchas = createEmitter<[CaptchaEvent]>()
  /** Solves under way: close() stops them. */
  readonly #solving = new Set<AbortController>()

  /** Opens a connection; rejects with a HafniumConnectionError (bad URL, refused, HTTP error…). */
  static async connect(url: string, options: ClientOptions = {}): Promise<HafniumClient> {
    const client = new HafniumClient(normaliseUrl(url), options)
    await client.#channel.open()
    if (!options.domain) await client.#discoverDomain()
    return client
  }

  private constructor(url: string, options: ClientOptions) {
    this.url = url
    this.#options = options
    this.#channel = new Channel(url, options, this.#timers, {
      event: (event) => this.#events.emit(event.type, event.payload, event),
      status: (status) => {
        if (status.status === 'closed') for (const queue of this.#queues) queue.end()
        this.#statuses.emit('status', status)
      },
      stray: (frame, text) => this.onStray?.(frame, text),
      frame: (text) => this.onFrame?.(text),
      captcha: (type, challenge) => {
        const captcha = captchaOptions(this.#options.captcha)
        return captcha ? this.#solveCaptcha(type, challenge, captcha) : Promise.resolve(undefined)
      },
    })
  }

  /** The `to` of requests (see ClientOptions.domain). */
  get domain(): string {
    return this.#channel.domain
  }

  /** The device this client is logged in as: set by login, register and auth replies, cleared by logout and revocation. */
  get session(): Session | null {
    return this.#channel.session
  }

  /** False once close() (or a reconnect that gave up) ended the client for good. */
  get isOpen(): boolean {
    return this.#channel.state !== 'closed'
  }

  /**
   * Sends a request; resolves the reply payload on `ok: true`, rejects with HafniumError on `ok: false`.
   * A `captcha_required` reply is solved and the request sent again with the solution (see ClientOptions.captcha).
   */
  async request<T extends string>(type: T, payload?: RequestPayload<T>, options: RequestOptions = {}): Promise<ReplyPayload<T>> {
    const retry = retryOptions(options.retryRateLimited ?? this.#options.retryRateLimited)
    const captcha = captchaOptions(options.captcha ?? this.#options.captcha)
    const body = (payload ?? {}) as object
    // A solution is sent once, with the request right after it was solved: a spent one is captcha_invalid.
    let solution: string | undefined
    let solves = 0
    for (let attempt = 1; ; ) {
      const reply = await this.send({ type, payload: solution === undefined ? body : { ...body, captcha: solution } }, options)
      solution = undefined
      if (reply.ok) return reply.payload as ReplyPayload<T>
      const error = new HafniumError(reply as ReplyEnvelope<ErrorPayload>)
      // Bounded: a server that keeps asking gets its captcha_required passed on, not an endless search.
      if (error.errID === 'captcha_required' && captcha && solves < 3) {
        solves++
        solution = await this.#solveCaptcha(type, error.errPayload?.challenge, captcha)
        if (solution !== undefined) continue
      }
      // captcha_required carries retryAfter too: waiting it out needs no solving.
      const delay = error.errID === 'ratelimit_exceed' || error.errID === 'captcha_required' ? (error.retryAfter ?? 1000) : undefined
      if (delay === undefined || !retry || attempt >= retry.maxAttempts || delay > retry.maxWaitMs) throw error
      attempt++
      await this.#timers.sleep(delay)
    }
  }

  /**
   * Solves a `captcha_required` reply's `errPayload.challenge` (for code that uses send()): the `captcha`
   * field to repeat the request with, or undefined when it was not solved; onCaptcha hears of it.
   */
  solveCaptcha(type: string, challenge: unknown, options: CaptchaOptions = {}): Promise<string | undefined> {
    return this.#solveCaptcha(type, challenge, captchaOptions(options)!)
  }

  /** Calls `fn` when a `captcha_required` challenge is being solved, was solved (the request is repeated), or was not; returns an unsubscribe function. */
  onCaptcha(fn: (event: CaptchaEvent) => void): Unsubscribe {
    return this.#captchas.on('captcha', fn)
  }

  /** Sends one envelope (`id` and `to` filled in when absent) and resolves with the whole reply, ok or not. */
  send(message: { type: string; payload?: object; id?: string; to?: string }, options: RequestOptions = {}): Promise<ReplyEnvelope> {
    const envelope = { id: message.id ?? this.#channel.nextId(), type: message.type, to: message.to ?? this.domain, payload: message.payload ?? {} }
    return this.#channel.transmit(JSON.stringify(envelope), envelope, message.id !== undefined, options.timeoutMs)
  }

  /** Sends text exactly as given (malformed frames, scripts) and resolves with the reply it gets. */
  sendRaw(text: string, options: RequestOptions = {}): Promise<ReplyEnvelope> {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      // not JSON: the server answers malformed_message with id ""
    }
    return this.#channel.transmit(text, parsed, true, options.timeoutMs)
  }

  /** Calls `fn` for each event of `type` (`*`: every event). Returns an unsubscribe function. */
  on<T extends string>(type: T, fn: (payload: EventPayload<T>, event: EventEnvelope<T extends '*' ? string : T>) => void): Unsubscribe {
    return this.#events.on(type, fn as (payload: unknown, event: EventEnvelope) => void)
  }

  off<T extends string>(type: T, fn: (payload: EventPayload<T>, event: EventEnvelope<T extends '*' ? string : T>) => void): void {
    this.#events.off(type, fn as (payload: unknown, event: EventEnvelope) => void)
  }

  /** Events (of `type`, or all) from now on, for `for await`; the loop ends when the client closes. */
  events<T extends string = string>(type?: T): AsyncIterableIterator<EventEnvelope<T>> {
    const queue: Queue<EventEnvelope> = createQueue(() => {
      unsubscribe()
      this.#queues.delete(queue)
    })
    const unsubscribe = this.#events.on(type ?? '*', (_payload, event) => queue.push(event))
    this.#queues.add(queue)
    if (!this.isOpen) queue.end()
    return queue.iterator as AsyncIterableIterator<EventEnvelope<T>>
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<EventEnvelope> {
    return this.events()
  }

  /** The next event of `type` (or any) arriving after this call; rejects after `timeoutMs` (default: the request timeout). */
  async nextEvent<T extends string = string>(type?: T, options: { timeoutMs?: number } = {}): Promise<EventEnvelope<T>> {
    const events = this.events(type)
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs ?? 30_000
    try {
      const next = events.next()
      const result = timeoutMs > 0 ? await this.#timers.race(next, timeoutMs, `no ${type ?? ''} event within ${timeoutMs} ms`) : await next
      if (result.done) throw new HafniumConnectionError('the client closed before the event arrived', { code: 'closed' })
      return result.value
    } finally {
      await events.return!()
    }
  }

  /** Connection life-cycle: disconnected, reconnecting, reconnected (after re-authentication), closed. */
  onStatus(fn: (status: Status) => void): Unsubscribe {
    return this.#statuses.on('status', fn)
  }

  /** Creates an account, and logs this connection in as a new device unless `loginOnSuccess: false` is given. */
  register(username: string, password: string, extra: Partial<RequestPayload<'profile:register'>> = {}) {
    return this.request('profile:register', { username, password, loginOnSuccess: true, ...extra })
  }

  /** Logs in as a new device with a username, email or phone number (`loginID`) and a password. */
  login(loginID: string, password: string, extra: Partial<RequestPayload<'profile:login'>> = {}) {
    return this.request('profile:login', { loginID, password, ...extra })
  }

  /** Signs in as a new guest account: no username or password, upgraded later (reg_disabled when the server has guests off). */
  signInAsGuest(extra: RequestPayload<'profile:guest'> = {}) {
    return this.request('profile:guest', extra)
  }

  /** Turns this guest account into a full one (e.g. `{username, password}`); its user ID, devices and session stay. */
  upgrade(payload: RequestPayload<'profile:upgrade'>) {
    return this.request('profile:upgrade', payload)
  }

  /** Logs in as a new device with a custom ticket signed by the application's backend (a JWT, single use). */
  signInWithTicket(ticket: string, extra: { deviceName?: string; pushToken?: string } = {}) {
    return this.request('profile:login', { ticket, ...extra })
  }

  /** Starts a sign-in with a configured OpenID Connect provider: open `url` in a browser; keep `state` for grantProviderToken. */
  providerAuthURL(providerID: string) {
    return this.request('provider:auth_url', { providerID })
  }

  /** Redeems the `code` and `state` the provider sent to the redirect URI for a providerToken (single use, 10 minutes). */
  grantProviderToken(providerID: string, code: string, state: string) {
    return this.request('provider:grant', { providerID, code, state })
  }

  /** Logs in as a new device with a providerToken: the linked account, or a new one where the server's autoCreate allows. */
  signInWithProvider(providerToken: string, extra: { deviceName?: string; pushToken?: string } = {}) {
    return this.request('profile:login', { providerToken, ...extra })
  }

  /** Links the identity behind a providerToken to this account (a sudoToken from profile:sudo). */
  bindWithProvider(providerToken: string, sudoToken: string) {
    return this.request('profile:bind_provider', { providerToken, sudoToken })
  }

  /** Unlinks a provider from this account (refused with forbidden if it is the last way to log in). */
  unbindProvider(providerID: string, sudoToken: string) {
    return this.request('profile:unbind_provider', { providerID, sudoToken })
  }

  /** Authenticates this connection as an existing device (the authToken of an earlier login). */
  auth(authToken: string) {
    return this.request('profile:auth', { authToken })
  }

  /** Revokes this device's token (or every device's); the connection stays open, unauthenticated. */
  logout(allDevices = false) {
    return this.request('profile:logout', { allDevices })
  }

  /**
   * Signs this client in without a password (a TV, a CLI): resolves with the user code to show and
   * `session`, a promise that resolves when a signed-in device approves the code (see DeviceAuthorization).
   */
  requestDeviceAuthorization(options: RequestPayload<'device:authorize_request'> = {}): Promise<DeviceAuthorization> {
    return requestDeviceAuthorization(this, options)
  }

  /** From a signed-in device: approves a code shown by a device waiting in requestDeviceAuthorization(); it becomes a device of this account. */
  approveDevice(userCode: string) {
    return this.request('device:authorize_approve', { userCode })
  }

  /** From a signed-in device: refuses a code shown by a waiting device. */
  denyDevice(userCode: string) {
    return this.request('device:authorize_deny', { userCode })
  }

  /** Closes the connection for good; pending requests reject. Resolves once the socket has closed. */
  close(): Promise<void> {
    for (const solving of this.#solving) solving.abort()
    return this.#channel.close()
  }

  /** The `captcha` field for `challenge`, or undefined when it was not solved (timeout, abort, not solvable). */
  async #solveCaptcha(type: string, challenge: unknown, options: CaptchaOptions): Promise<string | undefined> {
    const started = Date.now()
    const controller = new AbortController()
    const abort = () => controller.abort()
    options.signal?.addEventListener('abort', abort)
    if (options.signal?.aborted) controller.abort()
    this.#solving.add(controller)
    this.#captchas.emit('captcha', { stage: 'solving', type })
    try {
      const solution = await solveChallenge(challenge, { timeoutMs: options.timeoutMs, signal: controller.signal })
      this.#captchas.emit('captcha', { stage: 'solved', type, ms: solution.time })
      return encodeSolution(challenge, solution)
    } catch (error) {
      if (!(error instanceof CaptchaError)) throw error
      this.#captchas.emit('captcha', { stage: 'failed', type, ms: Date.now() - started, reason: error.reason })
      return undefined
    } finally {
      this.#solving.delete(controller)
      options.signal?.removeEventListener('abort', abort)
    }
  }

  /** The URL's host name, unless the server refuses it with wrong_server and names its own domain in `from`. */
  async #discoverDomain() {
    const reply = await this.send({ type: 'server:ping' })
    const errID = (reply.payload as ErrorPayload | undefined)?.errID
    if (!reply.ok && errID === 'wrong_server' && typeof reply.from === 'string' && reply.from !== '') this.#channel.domain = reply.from
  }
}
