// Events from extensions to users: delivered here and published for the other nodes by the sessions registry.
import type { Sessions } from '../sessions.ts'
import { maxEventBytes } from '../cluster/fragments.ts'
import { maxNotifyUsers, type Notify } from './define.ts'

/**
 * Delivers an event to every live connection of a user and resolves to how many it reached on this
 * node; the sessions registry also publishes it on the cluster bus for the other nodes' sockets, whose
 * counts are not waited for (a round trip through every node per notify).
 */
export interface EventBus {
  /**
   * `payloadJson`: the payload already serialised, when the caller has it (saves serialising it again).
   * A number when the count is known at once (this node's sockets), saving a promise per user.
   */
  publish(userID: string, type: string, payload: Record<string, unknown>, payloadJson?: string): number | Promise<number>
}

export function createLocalEventBus(sessions: Sessions): EventBus {
  return {
    publish: (userID, type, payload, payloadJson) => sessions.sendToUser(userID, type, payload, payloadJson),
  }
}

/** The server's own namespaces: an extension can neither serve nor send types in them (no forged revocations). */
export const reservedNamespaces = ['profile', 'device', 'verification', 'server', 'provider'] as const

/** `namespace:name`, lower case, as the built-in types are written. */
export const typeNamePattern = /^[a-z][a-z0-9_]{0,62}:[a-z][a-z0-9_]{0,63}$/

/** Why `type` cannot be an extension's request or event type, or undefined when it can. */
export function typeNameProblem(type: string): string | undefined {
  if (!typeNamePattern.test(type)) return `is not "namespace:name" in lower case letters, digits and _ (${typeNamePattern})`
  const namespace = type.slice(0, type.indexOf(':'))
  if ((reservedNamespaces as readonly string[]).includes(namespace)) return `is in the server's own namespace "${namespace}:"`
  return undefined
}

/** notify() as handlers see it: checks its arguments, so a bad call fails in the handler that made it. */
export function notifier(bus: EventBus): Notify {
  const accepted = new Set<string>()
  return async (to, type, payload) => {
    const many = typeof to !== 'string'
    if (many ? !isUserIDList(to) : to === '') throw new TypeError('notify: userID must be a non-empty string or an array of them')
    if (many && to.length > maxNotifyUsers) throw new TypeError(`notify: ${to.length} user IDs, over the ${maxNotifyUsers} one call may name`)
    if (!accepted.has(type)) {
      const problem = typeof type === 'string' ? typeNameProblem(type) : 'must be a string'
      if (problem) throw new TypeError(`notify: event type ${JSON.stringify(type)} ${problem}`)
      // Checked once per type: an extension sends a few event types, each many times.
      if (accepted.size < 256) accepted.add(type)
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new TypeError('notify: payload must be a JSON object')
    // On every node alike, so an extension that works on one does not break when a second is added.
    // The JSON made for this check is the one every recipient connection's frame carries (every user's).
    const json = JSON.stringify(payload)
    const bytes = json.length <= maxEventBytes / 3 ? json.length : Buffer.byteLength(json)
    if (bytes > maxEventBytes) throw new TypeError(`notify: payload is ${bytes} bytes of JSON, over the ${maxEventBytes}-byte limit of an event`)
    if (!many) return bus.publish(to, type, payload, json)
    // Every user published before awaiting any (the payload is read now, for all of them alike), and each
    // once, however often the list names them (a note to oneself names the sender twice). A loop, not
    // filter/map/Promise.all: those closures and promises were ~1.5% of chat:send, whose bus answers at once.
    const seen = to.length > 16 ? new Set<string>() : undefined
    let reached = 0
    let pending: Promise<number>[] | undefined
    // A user whose publish throws does not keep the event from the users after it; notify then rejects.
    let failed: { error: unknown } | undefined
    for (let i = 0; i < to.length; i++) {
      const userID = to[i]!
      if (seen ? seen.has(userID) : to.indexOf(userID) < i) continue
      seen?.add(userID)
      let count: number | Promise<number>
      try {
        count = bus.publish(userID, type, payload, json)
      } catch (error) {
        failed ??= { error }
        continue
      }
      if (typeof count === 'number') reached += count
      else (pending ??= []).push(count)
    }
    const all = pending && Promise.all(pending)
    if (failed) {
      all?.catch(() => {}) // answered by the first failure: no unhandled rejection from the others
      throw failed.error
    }
    if (all) for (const count of await all) reached += count
    return reached
  }
}

/** An array of non-empty strings; by index, so a hole (which every() skips) is refused too. */
function isUserIDList(to: unknown): to is readonly string[] {
  if (!Array.isArray(to)) return false
  for (let i = 0; i < to.length; i++) if (typeof to[i] !== 'string' || to[i] === '') return false
  return true
}
