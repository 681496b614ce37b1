// The password-login backoff (contract §7): its delay curve.
import type { Config } from '../types/schemas.ts'

type Policy = Config['sessions']['loginBackoff']

/** The block after the `failures`-th consecutive failure: none for the free ones, then baseMs doubling to maxMs. */
export function backoffDelay(policy: Policy, failures: number): number {
  const { freeFailures, baseMs, maxMs } = policy
  return failures <= freeFailures ? 0 : Math.min(maxMs, baseMs * 2 ** (failures - freeFailures - 1))
}
