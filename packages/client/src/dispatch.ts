// Matches incoming frames to the requests waiting for them: by id, else (for raw frames) by order.
import { HafniumConnectionError } from './errors.ts'
import type { EventEnvelope, ReplyEnvelope } from './types.ts'

export interface Waiter {
  /** The id sent, when it is a usable string. */
  id: string | undefined
  type: string
  payload: Record<string, unknown> | undefined
  resolve(reply: ReplyEnvelope): void
  reject(error: Error): void
}

interface Entry extends Waiter {
  ordered: boolean
  settled: boolean
  timer: ReturnType<typeof setTimeout> | undefined
}

export interface Dispatcher {
  /**
   * Waits for the reply to a frame about to be sent. `ordered` frames (sent as the caller wrote them)
   * may be answered with another id — the server echoes `""` for an unusable one — so a reply that
   * matches no id goes to the oldest unanswered ordered frame: replies come in request order (contract §2).
   */
  expect(waiter: Waiter, options: { ordered: boolean; timeoutMs: number }): void
  /** Handles one text frame from the server. */
  frame(text: string): void
  /** Rejects every waiter (the socket closed). */
  failAll(error: Error): void
  readonly size: number
}

export function createDispatcher(hooks: {
  reply(waiter: Waiter, reply: ReplyEnvelope): void
  event(event: EventEnvelope): void
  /** A frame that is not JSON, not an envelope, or answers nothing we sent. */
  stray(frame: unknown, text: string): void
}): Dispatcher {
  const byId = new Map<string, Entry>()
  const ordered: Entry[] = []
  let open = 0

  const settle = (entry: Entry) => {
    if (entry.settled) return false
    entry.settled = true
    clearTimeout(entry.timer)
    open--
    return true
  }
  // A timed-out entry stays listed until its late reply arrives, so that reply is not taken for another's.
  const forget = (entry: Entry) => {
    if (entry.id !== undefined && byId.get(entry.id) === entry) byId.delete(entry.id)
    const index = ordered.indexOf(entry)
    if (index >= 0) ordered.splice(index, 1)
  }

  return {
    expect(waiter, options) {
      const entry: Entry = { ...waiter, ordered: options.ordered, settled: false, timer: undefined }
      if (entry.id !== undefined && !byId.has(entry.id)) byId.set(entry.id, entry)
      else if (!options.ordered) throw new Error(`request id ${entry.id} is already waiting for a reply`)
      if (options.ordered) ordered.push(entry)
      open++
      if (options.timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          if (settle(entry)) entry.reject(new HafniumConnectionError(`no reply to ${entry.type || 'the frame'} within ${options.timeoutMs} ms`, { code: 'timeout' }))
        }, options.timeoutMs)
      }
    },
    frame(text) {
      let frame: unknown
      try {
        frame = JSON.parse(text)
      } catch {
        return hooks.stray(undefined, text)
      }
      const envelope = frame as ReplyEnvelope
      if (typeof frame !== 'object' || frame === null || typeof envelope.type !== 'string' || typeof envelope.ok !== 'boolean') {
        return hooks.stray(frame, text)
      }
      if (typeof envelope.id === 'string' && envelope.id.startsWith('ev:')) return hooks.event(envelope as EventEnvelope)
      const entry = (typeof envelope.id === 'string' ? byId.get(envelope.id) : undefined) ?? ordered[0]
      if (!entry) return hooks.stray(frame, text)
      forget(entry)
      if (!settle(entry)) return
      hooks.reply(entry, envelope)
      entry.resolve(envelope)
    },
    failAll(error) {
      const entries = new Set([...byId.values(), ...ordered])
      byId.clear()
      ordered.length = 0
      for (const entry of entries) if (settle(entry)) entry.reject(error)
    },
    get size() {
      return open
    },
  }
}
