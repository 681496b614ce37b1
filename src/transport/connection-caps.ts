// Open WebSocket connections per client key (limits.maxConnectionsPerIP) and how many of them are not
// authenticated (limits.maxAnonymousPerIP). Per process: a later multi-node setup caps per node.
import type { Config } from '../types/schemas.ts'

export interface ConnectionCaps {
  /** The counts when a new connection from `key` would pass a cap, else undefined. */
  full(key: string): { total: number; anonymous: number } | undefined
  /** A connection from `key` opened (anonymous). */
  opened(key: string): void
  authChanged(key: string, authenticated: boolean): void
  closed(key: string, authenticated: boolean): void
}

export function createConnectionCaps(limits: Config['limits']): ConnectionCaps {
  const perKey = new Map<string, { total: number; anonymous: number }>()
  return {
    full(key) {
      const seen = perKey.get(key)
      return seen && (seen.total >= limits.maxConnectionsPerIP || seen.anonymous >= limits.maxAnonymousPerIP) ? { ...seen } : undefined
    },
    opened(key) {
      const count = perKey.get(key) ?? { total: 0, anonymous: 0 }
      perKey.set(key, count)
      count.total++
      count.anonymous++
    },
    authChanged(key, authenticated) {
      perKey.get(key)!.anonymous += authenticated ? -1 : 1
    },
    closed(key, authenticated) {
      const count = perKey.get(key)!
      count.total--
      if (!authenticated) count.anonymous--
      if (count.total === 0) perKey.delete(key)
    },
  }
}
