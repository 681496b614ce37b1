// Failed-login state of names that find no account, where several processes must share it (PostgreSQL).

export interface LoginNameStore {
  /** Until when (ms) password logins with this name are blocked; 0 when they are not. */
  blockedUntil(name: string): Promise<number>
  /** Counts a failure (atomically: concurrent failures on any node each count once); the block only grows. */
  recordFailure(name: string, blockUntil: (failures: number) => number, now: number): Promise<void>
  /** Forgets names whose last failure is before `before`; returns how many. */
  prune(before: number): Promise<number>
}
