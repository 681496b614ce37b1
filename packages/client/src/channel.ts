// The socket behind a HafniumClient: open, send and match replies, follow the session, reconnect and re-authenticate.
import { createDispatcher, type Dispatcher, type Waiter } from './dispatch.ts'
import { HafniumConnectionError, HafniumError } from './errors.ts'
import { sessionAfterEvent, sessionAfterReply } from './session.ts'
import { openLink, type Link } from './socket.ts'
import { reconnectOptions, type Timers } from './timing.ts'
import type { ClientOptions, ErrorPayload, EventEnvelope, ReplyEnvelope, Session, Status } from './types.ts'

export interface ChannelHooks {
  event(event: EventEnvelope): void
  status(status: Status): void
  stray(frame: unknown, text: string): void
  /** Every text frame, before it is dispatched. */
  frame(text: string): void
  /** Solves a captcha_required challenge: the `captcha` field to send, or undefined (off, timed out, not solvable). */
  captcha(type: string, challenge: unknown): Promise<string | undefined>
}

export class Channel {
  domain: string
  session: Session | null = null
  state: 'open' | 'disconnected' | 'closed' = 'disconnected'

  readonly #url: string
  readonly #options: ClientOptions
  readonly #hooks: ChannelHooks
  readonly #timers: Timers
  readonly #dispatcher: Dispatcher
  #link: Link | null = null
  #reconnecting: Promise<void> | null = null
  #closed: Promise<void> | null = null
  #onLinkClosed: (() => void) | undefined
  #ids = 0
  readonly #idPrefix = Math.random().toString(36).slice(2, 8)

  constructor(url: string, options: ClientOptions, timers: Timers, hooks: ChannelHooks) {
    this.#url = url
    this.#options = options
    this.#timers = timers
    this.#hooks = hooks
    this.domain = options.domain ?? new URL(url).hostname
    this.#dispatcher = createDispatcher({
      reply: (waiter, reply) => this.#track(sessionAfterReply(this.session, waiter.type, waiter.payload, reply)),
      event: (event) => {
        this.#track(sessionAfterEvent(this.session, event))
        hooks.event(event)
      },
      stray: hooks.stray,
    })
  }

  nextId(): string {
    return `${this.#idPrefix}${(++this.#ids).toString(36)}`
  }

  async open(): Promise<void> {
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000
    const link = await openLink(this.#url, { WebSocket: this.#options.WebSocket, timeoutMs }, {
      message: (text) => {
        this.#hooks.frame(text)
        this.#dispatcher.frame(text)
      },
      close: (code, reason) => this.#linkClosed(link, code, reason),
    })
    if (this.state === 'closed') {
      link.close(1000, 'client closed')
      throw closedError()
    }
    this.#link = link
    this.state = 'open'
  }

  /** Sends `text` and resolves with its reply; `ordered` frames may be answered under another id (see dispatch.ts). */
  async transmit(text: string, envelope: unknown, ordered: boolean, timeoutMs: number | undefined, via?: Link): Promise<ReplyEnvelope> {
    const link = via ?? (await this.#ready())
    const e = (typeof envelope === 'object' && envelope !== null ? envelope : {}) as Record<string, unknown>
    return new Promise<ReplyEnvelope>((resolve, reject) => {
      const waiter: Waiter = {
        id: typeof e.id === 'string' ? e.id : undefined,
        type: typeof e.type === 'string' ? e.type : '',
        payload: typeof e.payload === 'object' && e.payload !== null ? (e.payload as Record<string, unknown>) : undefined,
        resolve,
        reject,
      }
      this.#dispatcher.expect(waiter, { ordered, timeoutMs: timeoutMs ?? this.#options.requestTimeoutMs ?? 30_000 })
      // Not open any more: the close event is on its way and rejects every waiter, this one included.
      if (!link.send(text)) this.#dispatcher.failAll(new HafniumConnectionError('connection closed', { code: 'closed' }))
    })
  }

  close(): Promise<void> {
    if (this.#closed) return this.#closed
    const link = this.#link
    this.#closed = link ? new Promise<void>((resolve) => (this.#onLinkClosed = resolve)) : Promise.resolve()
    this.#finish()
    link?.close(1000, 'client closed')
    return this.#closed
  }

  #linkClosed(link: Link, code: number, reason: string) {
    if (this.#link !== link) return this.#onLinkClosed?.()
    this.#link = null
    this.#dispatcher.failAll(new HafniumConnectionError(`connection closed (${code}${reason ? ` ${reason}` : ''})`, { code: 'closed', closeCode: code }))
    if (this.state === 'closed') return this.#onLinkClosed?.()
    if (!this.#options.reconnect) return this.#finish()
    this.state = 'disconnected'
    this.#hooks.status({ status: 'disconnected', code, reason })
    // With a session the client comes back at once, to keep receiving its events; without one, on demand.
    if (this.session) this.#reconnect().catch(() => {})
  }

  #finish() {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.#timers.cancelAll(closedError())
    this.#dispatcher.failAll(closedError())
    this.#hooks.status({ status: 'closed' })
  }

  async #ready(): Promise<Link> {
    if (this.state === 'closed') throw closedError()
    if (!this.#link) await this.#reconnect()
    if (!this.#link) throw closedError()
    return this.#link
  }

  #reconnect(): Promise<void> {
    return (this.#reconnecting ??= this.#reconnectLoop().finally(() => (this.#reconnecting = null)))
  }

  async #reconnectLoop(): Promise<void> {
    const options = reconnectOptions(this.#options.reconnect)
    let delay = options.initialDelayMs
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.#link) await this.open()
        const authError = this.session ? await this.#reauthenticate(this.#link!) : undefined
        this.#hooks.status({ status: 'reconnected', session: this.session, ...(authError ? { authError } : {}) })
        return
      } catch (error) {
        if (this.state === 'closed') throw closedError()
        if (attempt >= options.maxAttempts) {
          this.#finish()
          throw error
        }
        const delayMs = Math.round(delay * (0.5 + Math.random() / 2))
        this.#hooks.status({ status: 'reconnecting', attempt, delayMs, error: error as Error })
        await this.#timers.sleep(delayMs)
        delay = Math.min(delay * 2, options.maxDelayMs)
      }
    }
  }

  /**
   * profile:auth with the stored token on the new socket, solving captcha_required (as request() does)
   * or waiting out its retryAfter and ratelimit_exceed's; returns the refusal, if any.
   */
  async #reauthenticate(link: Link): Promise<HafniumError | undefined> {
    let captcha: string | undefined
    for (let attempt = 1; ; attempt++) {
      const payload = { authToken: this.session!.authToken, ...(captcha === undefined ? {} : { captcha }) }
      const envelope = { id: this.nextId(), type: 'profile:auth', to: this.domain, payload }
      const reply = await this.transmit(JSON.stringify(envelope), envelope, false, undefined, link)
      captcha = undefined
      if (reply.ok) return undefined
      const error = new HafniumError(reply as ReplyEnvelope<ErrorPayload>)
      if (error.errID === 'captcha_required' && attempt < 5) {
        captcha = await this.#hooks.captcha('profile:auth', error.errPayload?.challenge)
        if (captcha !== undefined) continue
      }
      if ((error.errID === 'ratelimit_exceed' || error.errID === 'captcha_required') && attempt < 5) {
        await this.#timers.sleep(Math.min(error.retryAfter ?? 1000, 60_000))
        continue
      }
      // A dead token will not come back: forget it. Another refusal keeps it for the next reconnect.
      if (error.errID === 'invalid_token') this.session = null
      return error
    }
  }

  #track(next: Session | null | undefined) {
    if (next !== undefined) this.session = next
  }
}

export function closedError(): HafniumConnectionError {
  return new HafniumConnectionError('the client is closed', { code: 'closed' })
}
