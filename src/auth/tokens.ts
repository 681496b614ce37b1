// Secrets handed to clients (authTokens, sudo tokens) and the only form the store keeps of them.
import { hash, randomBytes } from 'node:crypto'
import { customAlphabet } from 'nanoid'

/** 256 random bits as 64 lowercase hex characters (contract §4). */
export function generateAuthToken(): string {
  return randomBytes(32).toString('hex')
}

/** A sudoToken: 256 random bits, base64url. */
export function generateSudoToken(): string {
  return randomBytes(32).toString('base64url')
}

/** SHA-256 of a high-entropy token: a stolen database yields no usable token (ASVS 5.0 6.5.2 by analogy). */
export function hashToken(token: string): Buffer {
  // One-shot (Node ≥ 20.12): no Hash object per call, ~0.5-1.5 µs less on every profile:auth here. Asked
  // for a binary (latin1: one char per byte, exact) string and copied into a pooled Buffer: 0.35 µs a call
  // where asking hash() for a Buffer cost 1.0 µs (Node 20: an unpooled ArrayBuffer per digest; in a loop).
  return Buffer.from(hash('sha256', token, 'binary'), 'binary')
}

/** 10 characters from A-Z 0-9 (contract §4); ~51 bits, collisions are retried by the store. */
export const generateDeviceID = customAlphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)

/** Opaque account ids (the raw user ID's localpart when there is no username). */
export const generateAccountID = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 16)
