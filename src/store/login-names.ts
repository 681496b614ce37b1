// Failed-login state of names that find no account, where several processes must share it (PostgreSQL).

export interface LoginNameStore {
  /** Until when (ms) password logins with this name are blocked; 0 when they are not. */
  blockedUntil(name: string): Promise<number>
  /**
   * Counts a failed login with this name, re-checking the block in the same transaction (as accounts'
   * recordLoginFailure, on any node): the block in place at `now` when not counted; else 0, the failure
   * counted and the block grown to blockUntil(failures).
   */
  recordFailure(name: string, blockUntil: (failures: number) => number, now: number): Promise<number>
  /** Forgets names whose last failure is before `before`; returns how many. */
  prune(before: number): Promise<number>
}
