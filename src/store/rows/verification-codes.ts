// The verification_codes row as both engines select it, and the keyed hash both store codes under.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { ThirdPID } from '../../identifiers.ts'
import type { VerificationPurpose } from '../verifications.ts'

export interface CodeRow {
  purpose: VerificationPurpose
  medium: ThirdPID['type']
  address: string
  account_id: string | null
  code_hash: Buffer
  attempts_left: number
  expires_at: number
}

export const codeColumns = 'purpose, medium, address, account_id, code_hash, attempts_left, expires_at'

/**
 * Codes are stored as HMAC-SHA256(key, verificationID ":" code). A plain or merely salted hash of a
 * 6-digit code falls to 10^6 guesses offline; the key (derived from the outbox key, which lives outside
 * the database — HAFNIUM_OUTBOX_KEY or `<db>.key`) means the database alone gives no code away.
 * HKDF keeps the sealing key and this one separate (one key, one purpose).
 */
export function codeHasher(secret: Buffer): (id: string, code: string) => Buffer {
  const codeKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'hafnium verification codes', 32))
  return (id, code) => createHmac('sha256', codeKey).update(`${id}:${code}`).digest()
}

/** Whether `candidate` (hashed by codeHasher) is the row's code, in constant time. */
export const codeMatches = (row: CodeRow, candidate: Buffer): boolean => row.code_hash.length === candidate.length && timingSafeEqual(row.code_hash, candidate)
