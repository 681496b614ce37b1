// One-time codes, verification tokens and the 3PID changes they pay for, on PostgreSQL (contracts in
// ../verifications.ts): codes in verification-codes.ts, tokens in verification-tokens.ts.
import type pg from 'pg'
import type { VerificationStore } from '../verifications.ts'
import { createCodeOps } from './verification-codes.ts'
import { createTokenOps } from './verification-tokens.ts'

export function createVerificationStore(pool: pg.Pool, secret: Buffer): VerificationStore {
  const codes = createCodeOps(pool, secret)
  const tokens = createTokenOps(pool)
  return {
    issueCode: codes.issueCode,
    issueDecoy: codes.issueDecoy,
    attempt: codes.attempt,
    markVerified: codes.markVerified,
    codeFailures: codes.codeFailures,
    hasToken: tokens.hasToken,
    consumeToken: tokens.consumeToken,
    bindThirdPID: tokens.bindThirdPID,
    unbindThirdPID: tokens.unbindThirdPID,
    prune: async (now) => (await codes.prune(now)) + (await tokens.prune(now)),
  }
}
