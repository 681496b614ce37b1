// The gap under the cluster bus: a revocation whose event a node missed (a network blip, a node that was
// down, the admin CLI) is still enforced, because authenticated requests re-read the device row.
import type { Session } from '../handler.ts'
import type { Clock } from '../rate-limit.ts'
import type { Sessions } from '../sessions.ts'
import type { Store } from '../store/index.ts'

/**
 * How long a device found alive is trusted without reading its row again. 1 s bounds how long a revoked
 * device whose event was lost keeps being served, at one indexed SELECT per device per second: the
 * request path itself pays a Map lookup (measured: no change in profile:get's rate, see the commit).
 */
export const sessionCheckMs = 1000

/** Past this many cached devices the cache starts over (each entry is re-read at most once a second anyway). */
const maxCached = 100_000

export interface SessionCheck {
  /** true when `session`'s device was found alive less than sessionCheckMs ago: no read needed. */
  fresh(session: Session): boolean
  /** Reads the device row; false when the device is gone. */
  confirm(session: Session): Promise<boolean>
}

export function createSessionCheck(store: Pick<Store, 'devices'>, clock: Clock, ttlMs = sessionCheckMs): SessionCheck {
  const confirmedAt = new Map<string, number>()
  return {
    fresh(session) {
      const at = confirmedAt.get(session.deviceID) ?? session.knownAliveAt
      if (at === undefined) return false
      const age = clock.now() - at
      return age >= 0 && age < ttlMs
    },
    async confirm(session) {
      const now = clock.now()
      const alive = await store.devices.exists(session.accountID, session.deviceID)
      if (!alive) {
        confirmedAt.delete(session.deviceID)
        return false
      }
      if (confirmedAt.size >= maxCached) confirmedAt.clear()
      confirmedAt.set(session.deviceID, now)
      return true
    },
  }
}

/**
 * After the cluster bus resubscribes: every device with a live connection here is checked against the
 * store, and the connections of those gone are told (profile:session_revoked, reason revoked) at once
 * instead of at their next request.
 */
export async function resyncSessions(sessions: Sessions, store: Pick<Store, 'devices'>): Promise<number> {
  let revoked = 0
  for (const { accountID, deviceID } of sessions.liveDevices()) {
    if (await store.devices.exists(accountID, deviceID)) continue
    sessions.revokeDeviceHere(accountID, deviceID, 'revoked')
    revoked++
  }
  return revoked
}
