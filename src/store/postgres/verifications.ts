// One-time codes, verification tokens and the 3PID changes they pay for, on PostgreSQL (contracts in
// ../verifications.ts): codes in verification-codes.ts, tokens in verification-tokens.ts.
import type pg from 'pg'
import { verificationStore, type VerificationStore } from '../verifications.ts'
import { createCodeOps } from './verification-codes.ts'
import { createTokenOps } from './verification-tokens.ts'

export function createVerificationStore(pool: pg.Pool, secret: Buffer): VerificationStore {
  return verificationStore(createCodeOps(pool, secret), createTokenOps(pool))
}
