// Session lifetime (contract §18): when devices were last seen, when they expire, and the sweep that
// revokes those that have.
import { audit } from '../audit.ts'
import type { Logger } from 'pino'
import type { Clock } from '../rate-limit.ts'
import type { Sessions } from '../sessions.ts'
import type { SeenEntry } from '../store/device-lifetime.ts'
import type { Store } from '../store/index.ts'
import type { Config } from '../types/schemas.ts'

type Lifetime = Pick<Config['sessions'], 'idleTimeout' | 'maxAge'>

/**
 * Last-seen times kept in memory and written in batches: every authenticated request "sees" its device,
 * and a write per message would put one SQLite transaction on each (the rate-limit flush does the same).
 */
export interface SeenTracker {
  record(deviceID: string, ip: string, at: number): void
  /** The newest time recorded since the last flush, if any. */
  lastSeen(deviceID: string): number | undefined
  /**
   * Takes the pending entries (the tracker forgets them) and hands them to `write`; if it fails they are
   * pending again. Writes run one after another, so one returns only when every time taken before it is
   * in the store, another write's too: the guest sweep reads last-seen times from the store right after
   * its flush, and two flushes (the periodic one and the sweep's) overlap when the store is slow.
   */
  writeTaken<T>(write: (entries: SeenEntry[]) => Promise<T>): Promise<T>
}

export function createSeenTracker(): SeenTracker {
  let pending = new Map<string, SeenEntry>()
  let tail: Promise<unknown> = Promise.resolve()
  const record = (deviceID: string, ip: string, at: number) => {
    const entry = pending.get(deviceID)
    // Every authenticated request lands here: update in place (writeTaken() hands out entries it no longer holds).
    if (!entry) pending.set(deviceID, { deviceID, at, ip })
    else if (entry.at <= at) {
      entry.at = at
      entry.ip = ip
    }
  }
  return {
    record,
    lastSeen: (deviceID) => pending.get(deviceID)?.at,
    writeTaken(write) {
      const run = tail.then(async () => {
        const entries = [...pending.values()]
        pending = new Map()
        try {
          return await write(entries)
        } catch (error) {
          for (const entry of entries) record(entry.deviceID, entry.ip, entry.at)
          throw error
        }
      })
      tail = run.catch(() => {})
      return run
    },
  }
}

/** When the device expires unless seen again (ms), or null when neither limit is set. */
export function expiresAt(device: { createdAt: number; lastSeenAt: number }, lifetime: Lifetime): number | null {
  const idle = lifetime.idleTimeout > 0 ? device.lastSeenAt + lifetime.idleTimeout * 1000 : Infinity
  const absolute = lifetime.maxAge > 0 ? device.createdAt + lifetime.maxAge * 1000 : Infinity
  const at = Math.min(idle, absolute)
  return at === Infinity ? null : at
}

/** The device's last-seen time counting what is not yet written. */
export function effectiveLastSeen(seen: SeenTracker, device: { id: string; lastSeenAt: number }): number {
  return Math.max(device.lastSeenAt, seen.lastSeen(device.id) ?? 0)
}

export interface LifetimeDeps {
  config: Readonly<Config>
  store: Store
  clock: Clock
  seen: SeenTracker
  sessions: Sessions
  log: Logger
}

/** Writes the pending last-seen times; on failure they are kept for the next flush. */
export function flushSeen({ store, seen }: Pick<LifetimeDeps, 'store' | 'seen'>): Promise<void> {
  return seen.writeTaken((entries) => store.devices.touchMany(entries))
}

/**
 * Revokes every device past sessions.idleTimeout or sessions.maxAge: the pending last-seen times are
 * written in the same transaction as the delete, so a device used since the last flush survives; its
 * live connections get profile:session_revoked with reason expired.
 */
export async function sweepExpiredDevices(deps: LifetimeDeps): Promise<number> {
  const { idleTimeout, maxAge } = deps.config.sessions
  if (idleTimeout === 0 && maxAge === 0) return 0
  const now = deps.clock.now()
  const never = Number.MIN_SAFE_INTEGER
  // After any flush in flight: a time it took is not in this transaction's entries.
  const expired = await deps.seen.writeTaken((entries) =>
    deps.store.devices.expire(entries, idleTimeout > 0 ? now - idleTimeout * 1000 : never, maxAge > 0 ? now - maxAge * 1000 : never),
  )
  const byAccount = new Map<string, string[]>()
  for (const { accountID, deviceID } of expired) {
    deps.sessions.revokeDevice(accountID, deviceID, 'expired')
    byAccount.set(accountID, [...(byAccount.get(accountID) ?? []), deviceID])
  }
  for (const [accountID, deviceIDs] of byAccount) audit(deps.log, 'device.revoked', { accountID, deviceIDs, reason: 'expired', by: 'sweep' })
  if (expired.length > 0) deps.log.info({ count: expired.length }, 'expired devices revoked')
  return expired.length
}
