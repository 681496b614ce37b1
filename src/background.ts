// The server's periodic work: the heartbeat, the rate-limit and last-seen flush and the expiry sweeps.
import type { LiveConnection } from './connection.ts'
import type { Deps } from './handler.ts'
import { sweepExpired } from './accounts/verification-signup.ts'
import { sweepIdleGuests } from './accounts/guests.ts'
import { flushSeen, sweepExpiredDevices } from './accounts/session-lifetime.ts'
import { isDiskFull } from './store/errors.ts'

export interface Background {
  stop(): void
}

export function startBackground(deps: Deps, connections: ReadonlySet<LiveConnection>): Background {
  const { config, limiter, log } = deps

  // A peer that missed the previous ping is dead (ws README heartbeat pattern).
  const heartbeat = setInterval(() => {
    for (const conn of connections) {
      if (!conn.alive) {
        conn.socket.terminate()
        continue
      }
      conn.alive = false
      conn.socket.ping()
    }
  }, config.server.heartbeatMs)

  // Buckets live in memory; SQLite gets them in batches so a restart does not refill them.
  const flusher = setInterval(() => {
    try {
      limiter.flush()
    } catch (err) {
      if (isDiskFull(err)) deps.store.onDiskFull?.()
      log.warn({ err }, 'rate-limit flush failed; will retry')
    }
    flushSeen(deps).catch((err: unknown) => {
      if (isDiskFull(err)) deps.store.onDiskFull?.()
      log.warn({ err }, 'last-seen flush failed; will retry')
    })
  }, config.ratelimit.flushIntervalMs)

  // Devices past sessions.idleTimeout / maxAge are revoked here, or at their next profile:auth if sooner.
  const deviceSweeper = setInterval(() => {
    sweepExpiredDevices(deps).catch((err: unknown) => {
      if (isDiskFull(err)) deps.store.onDiskFull?.()
      log.warn({ err }, 'device expiry sweep failed; will retry')
    })
  }, config.sessions.sweepIntervalMs)

  // Pending accounts past registration.pendingTtl free their names; idle guests past registration.guestTtl
  // go with their devices (live sockets told); expired codes, tokens and used ticket IDs are deleted.
  const sweeper = setInterval(() => {
    const sweep = async () => {
      await sweepExpired(deps)
      // Guests go by their devices' last-seen times: write the ones still in memory first.
      await flushSeen(deps)
      await sweepIdleGuests(deps)
    }
    sweep().catch((err: unknown) => {
      if (isDiskFull(err)) deps.store.onDiskFull?.()
      log.warn({ err }, 'expiry sweep failed; will retry')
    })
  }, config.registration.sweepIntervalMs)

  const timers = [heartbeat, flusher, sweeper, deviceSweeper]
  for (const timer of timers) timer.unref()
  return { stop: () => timers.forEach(clearInterval) }
}
