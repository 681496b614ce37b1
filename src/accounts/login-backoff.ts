// The password-login backoff (contract §7): its delay curve, and the same state for names that find no
// account, so that with privacy.revealAccounts false a run of wrong passwords answers alike either way.
import type { LoginNameStore } from '../store/login-names.ts'
import type { Config } from '../types/schemas.ts'

type Policy = Config['sessions']['loginBackoff']

/** The block after the `failures`-th consecutive failure: none for the free ones, then baseMs doubling to maxMs. */
export function backoffDelay(policy: Policy, failures: number): number {
  const { freeFailures, baseMs, maxMs } = policy
  return failures <= freeFailures ? 0 : Math.min(maxMs, baseMs * 2 ** (failures - freeFailures - 1))
}

/**
 * The block after the `failures`-th failure counted at `now`: 0, none at all, for the free ones. A block of
 * 0 ms ending at `now` would refuse a concurrent attempt whose clock read came a moment earlier.
 */
export function blockAfter(policy: Policy, now: number): (failures: number) => number {
  return (failures) => {
    const delay = backoffDelay(policy, failures)
    return delay > 0 ? now + delay : 0
  }
}

/** Failed-login state of names that find no account: in memory (one process), or in the shared store. */
export interface NameBackoff {
  /** Until when (ms) password logins with this name are blocked; 0 when they are not. */
  blockedUntil(name: string): number | Promise<number>
  /**
   * Counts a failure for the name unless a block is in place at `now`, as accounts.recordLoginFailure does
   * for an account: that block when not counted; else 0 (the block never shrinks).
   */
  recordFailure(name: string, now: number, policy: Policy): number | Promise<number>
}

/** The in-memory one, bounded. */
export interface MemoryNameBackoff extends NameBackoff {
  blockedUntil(name: string): number
  recordFailure(name: string, now: number, policy: Policy): number
  readonly size: number
}

/** How long the shared state keeps a name after its last failure (the in-memory one keeps the 10,000 latest). */
export const sharedNameRetentionMs = 24 * 60 * 60 * 1000

/**
 * The state in the store every node shares (PostgreSQL): an account's failures are counted on its row
 * across nodes, so a name that finds none must be too, or spreading guesses over nodes would tell them
 * apart. Names not failed for a day are pruned, at most once an hour per node.
 */
export function createSharedNameBackoff(store: LoginNameStore): NameBackoff {
  let prunedAt = 0
  return {
    blockedUntil: (name) => store.blockedUntil(name),
    async recordFailure(name, now, policy) {
      const blocked = await store.recordFailure(name, blockAfter(policy, now), now)
      if (now - prunedAt >= 60 * 60 * 1000) {
        prunedAt = now
        await store.prune(now - sharedNameRetentionMs)
      }
      return blocked
    },
  }
}

/**
 * At most `maxEntries` names (the least recently failed go first): ~150 bytes each, so the default 10,000
 * cost ~1.5 MB whatever a client sends. Evicting one needs that many other failed logins first (hours
 * under the shipped login_ip rule from one address); the state does not survive a restart, an account's does.
 */
export function createNameBackoff(maxEntries = 10_000): MemoryNameBackoff {
  const entries = new Map<string, { failures: number; blockedUntil: number }>()
  return {
    blockedUntil: (name) => entries.get(name)?.blockedUntil ?? 0,
    recordFailure(name, now, policy) {
      const entry = entries.get(name) ?? { failures: 0, blockedUntil: 0 }
      entries.delete(name) // re-inserted last: a Map iterates in insertion order, so the first key is the stalest
      entries.set(name, entry)
      if (entry.blockedUntil > now) return entry.blockedUntil
      entry.failures++
      entry.blockedUntil = Math.max(entry.blockedUntil, blockAfter(policy, now)(entry.failures))
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!)
      return 0
    },
    get size() {
      return entries.size
    },
  }
}
