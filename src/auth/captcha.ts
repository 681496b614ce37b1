// ALTCHA proof-of-work challenges (contract §15): created when a captcha rule is exhausted, verified once.
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'
import type { CaptchaStore } from '../store/captcha.ts'

// The ALTCHA v2 wire shapes, as altcha-lib declares them (Challenge, Solution). altcha-lib itself is only
// the tests' reference implementation (a devDependency): nothing at run time, nor in the published
// types, needs it.
export interface Challenge {
  parameters: {
    algorithm: string
    nonce: string
    salt: string
    cost: number
    keyLength: number
    keyPrefix: string
    keySignature?: string
    memoryCost?: number
    parallelism?: number
    expiresAt?: number
    data?: Record<string, string | number | boolean | null>
  }
  signature?: string
}

export interface Solution {
  counter: number
  derivedKey: string
  time?: number
}

export interface CaptchaOptions {
  /** The solver tries counters from 0 up to the secret one, drawn from 1 to this: the difficulty. */
  maxCounter: number
  expiresSeconds: number
}

export interface Captcha {
  challenge(): Promise<Challenge>
  /** True once per valid, unexpired solution (the ALTCHA payload: base64 JSON {challenge, solution}). */
  verify(payload: string): Promise<boolean>
}

export function createCaptcha(options: CaptchaOptions, store: CaptchaStore): Captcha {
  const { challenge: hmacSignatureSecret, key: hmacKeySignatureSecret } = store.secrets
  return {
    // altcha-lib's createChallenge in deterministic mode (a known counter, its derived key signed, so
    // verifying is two HMACs, not a re-derivation), with node:crypto: through WebCrypto it cost 0.4 ms,
    // paid for every refused request of a script that never solves. test/unit/captcha.test.ts checks
    // altcha-lib solves and verifies these.
    async challenge() {
      const nonce = randomBytes(16)
      const salt = randomBytes(16)
      const counter = Buffer.alloc(4)
      counter.writeUInt32BE(randomInt(1, options.maxCounter + 1))
      const derivedKey = createHash('sha256').update(salt).update(nonce).update(counter).digest()
      const parameters = {
        algorithm: 'SHA-256',
        cost: 1,
        expiresAt: Math.floor(Date.now() / 1000) + options.expiresSeconds,
        keyLength: 32,
        // altcha-lib's default keyPrefixLength: half the key.
        keyPrefix: derivedKey.subarray(0, 16).toString('hex'),
        keySignature: hmac(hmacKeySignatureSecret, derivedKey).toString('hex'),
        nonce: nonce.toString('hex'),
        salt: salt.toString('hex'),
      }
      return { parameters, signature: hmac(hmacSignatureSecret, JSON.stringify(sortKeys(parameters))).toString('hex') }
    },
    async verify(payload) {
      const decoded = decode(payload)
      if (!decoded) return false
      const { challenge, solution } = decoded
      const { parameters } = challenge
      // altcha-lib's verifySolution (key-signature path) with node:crypto's HMAC: altcha-lib imports the
      // key through WebCrypto on every call, which made a verification cost 0.25 ms instead of ~0.01 ms.
      // test/unit/captcha.test.ts checks altcha-lib's own solutions verify here and tampered ones do not.
      if (typeof parameters.expiresAt !== 'number' || parameters.expiresAt < Date.now() / 1000) return false
      if (!sameHex(challenge.signature!, hmac(hmacSignatureSecret, JSON.stringify(sortKeys(parameters))))) return false
      // Our challenges always sign the derived key (deterministic mode): one without is not ours.
      if (typeof parameters.keySignature !== 'string') return false
      if (typeof solution.derivedKey !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(solution.derivedKey)) return false
      if (!Number.isInteger(solution.counter) || solution.counter < 0 || solution.counter > 0xffffffff) return false
      if (!sameHex(parameters.keySignature, hmac(hmacKeySignatureSecret, Buffer.from(solution.derivedKey, 'hex')))) return false
      // Verified means the signature is ours, so signature and expiresAt are present and untampered.
      const signatureHash = createHash('sha256').update(challenge.signature!).digest()
      return store.spend(signatureHash, parameters.expiresAt)
    },
  }
}

/** HMAC-SHA-256 keyed with the secret string's UTF-8 bytes, as altcha-lib's hmac() does. */
const hmac = (secret: string, data: string | Buffer) => createHmac('sha256', secret).update(data).digest()

/**
 * Only the canonical spelling (lower case, exactly two digits a byte) matches: Buffer.from(…, 'hex') drops
 * a trailing odd digit, and the spent-solution key hashes the signature string, so `signature + '0'` …
 * `+ 'f'` were 16 fresh spends of one solution (review finding).
 */
function sameHex(given: string, expected: Buffer): boolean {
  if (given.length !== expected.length * 2 || !/^[0-9a-f]*$/.test(given)) return false
  return timingSafeEqual(Buffer.from(given, 'hex'), expected)
}

/** altcha-lib's canonical form: keys sorted at every depth, undefined values dropped (Object.fromEntries keeps a __proto__ key an own property). */
function sortKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const record = value as Record<string, unknown>
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .flatMap((key) => (record[key] === undefined ? [] : [[key, sortKeys(record[key])]])),
  )
}

function decode(payload: string): { challenge: Challenge; solution: Solution } | undefined {
  try {
    const value = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { challenge?: Challenge; solution?: Solution } | null
    if (typeof value?.challenge?.parameters !== 'object' || value.challenge.parameters === null) return undefined
    if (typeof value.challenge.signature !== 'string' || typeof value.solution !== 'object' || value.solution === null) return undefined
    return { challenge: value.challenge, solution: value.solution }
  } catch {
    return undefined
  }
}
