// Solves the ALTCHA v2 proof-of-work challenge a `captcha_required` reply carries (contract §15) with
// WebCrypto only, so the library keeps no dependency and runs in browsers, Node, Deno and Bun. The
// algorithm is altcha-lib's SHA deriveKey in its default uint32 counter mode; test/client/captcha.test.ts
// checks solutions against altcha-lib's own createChallenge/verifySolution so the two cannot drift.

/** The challenge object of `errPayload.challenge`, as altcha-lib creates it. */
export interface CaptchaChallenge {
  parameters: {
    algorithm: string
    nonce: string
    salt: string
    cost: number
    keyLength?: number
    keyPrefix: string
    [key: string]: unknown
  }
  signature?: string
  [key: string]: unknown
}

export interface CaptchaSolution {
  counter: number
  derivedKey: string
  /** Milliseconds the search took. */
  time: number
}

export interface SolveOptions {
  /** Give up after this long (rejects with a CaptchaError, reason `timeout`). */
  timeoutMs?: number
  /** Give up when this aborts (reason `aborted`). */
  signal?: AbortSignal
}

export type CaptchaFailure = 'timeout' | 'aborted' | 'unsupported'

/** The challenge was not solved: too slow, aborted, or not one this library can solve. */
export class CaptchaError extends Error {
  readonly reason: CaptchaFailure
  constructor(reason: CaptchaFailure, message: string) {
    super(message)
    this.name = 'CaptchaError'
    this.reason = reason
  }
}

const algorithms = new Set(['SHA-256', 'SHA-384', 'SHA-512'])
const hex = /^(?:[0-9a-fA-F]{2})+$/
const maxCounter = 0xffffffff
/**
 * Digests in flight at once: WebCrypto's digest is asynchronous (a thread hop each in Node), so a
 * batch overlaps them; measured in Node 20, 256 at a time is about 3× faster than one by one.
 */
const batch = 256

/** Searches the counter whose derived key starts with the challenge's key prefix. */
export async function solveChallenge(challenge: unknown, options: SolveOptions = {}): Promise<CaptchaSolution> {
  const parameters = checked(challenge)
  const started = Date.now()
  const { signal, timeoutMs } = options
  const prefix = parameters.keyPrefix.toLowerCase()
  const prefixBytes = prefix.length % 2 === 0 ? fromHex(prefix) : undefined
  const head = concat(fromHex(parameters.salt), fromHex(parameters.nonce))
  const keyLength = parameters.keyLength ?? 32
  for (let first = 0; first <= maxCounter; first += batch) {
    if (signal?.aborted) throw new CaptchaError('aborted', 'solving the captcha was aborted')
    if (timeoutMs !== undefined && Date.now() - started > timeoutMs) throw new CaptchaError('timeout', `the captcha was not solved within ${timeoutMs} ms`)
    const counters: number[] = []
    for (let counter = first; counter < first + batch && counter <= maxCounter; counter++) counters.push(counter)
    const keys = await Promise.all(counters.map((counter) => deriveKey(parameters.algorithm, parameters.cost, keyLength, head, counter)))
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      if (prefixBytes ? startsWith(key, prefixBytes) : toHex(key).startsWith(prefix)) {
        return { counter: counters[i]!, derivedKey: toHex(key), time: Date.now() - started }
      }
    }
  }
  throw new CaptchaError('unsupported', 'no counter solves this captcha')
}

/** The `captcha` payload field for a solved challenge: base64 JSON {challenge, solution}, what the ALTCHA widget submits. */
export function encodeSolution(challenge: unknown, solution: CaptchaSolution): string {
  const bytes = new TextEncoder().encode(JSON.stringify({ challenge, solution }))
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

/** altcha-lib's SHA deriveKey: digest(salt ‖ nonce ‖ uint32be(counter)), `cost` rounds on the full digest, then cut to keyLength. */
async function deriveKey(algorithm: string, cost: number, keyLength: number, head: Uint8Array, counter: number): Promise<Uint8Array> {
  let data = new Uint8Array(head.length + 4)
  data.set(head)
  new DataView(data.buffer).setUint32(head.length, counter, false)
  for (let round = 0; round < cost; round++) data = new Uint8Array(await globalThis.crypto.subtle.digest(algorithm, data))
  return data.subarray(0, keyLength)
}

function checked(challenge: unknown): CaptchaChallenge['parameters'] {
  const parameters = (challenge as CaptchaChallenge | null | undefined)?.parameters
  const unsupported = (why: string) => new CaptchaError('unsupported', `cannot solve this captcha: ${why}`)
  // Browsers offer crypto.subtle only in secure contexts (https:// pages, localhost).
  if (typeof globalThis.crypto?.subtle?.digest !== 'function') throw unsupported('no WebCrypto (crypto.subtle) here; browsers have it only on https:// pages')
  if (typeof parameters !== 'object' || parameters === null) throw unsupported('no parameters')
  if (!algorithms.has(parameters.algorithm)) throw unsupported(`algorithm ${String(parameters.algorithm)}`)
  // A huge cost would only burn the user's CPU until the timeout: the server's are 1.
  if (!Number.isInteger(parameters.cost) || parameters.cost < 1 || parameters.cost > 1000) throw unsupported(`cost ${String(parameters.cost)}`)
  if (parameters.keyLength !== undefined && (!Number.isInteger(parameters.keyLength) || parameters.keyLength < 1)) throw unsupported('keyLength')
  for (const field of ['nonce', 'salt'] as const) if (typeof parameters[field] !== 'string' || !hex.test(parameters[field])) throw unsupported(field)
  if (typeof parameters.keyPrefix !== 'string' || !/^[0-9a-fA-F]+$/.test(parameters.keyPrefix)) throw unsupported('keyPrefix')
  return parameters
}

function fromHex(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16)
  return bytes
}

function toHex(bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0')
  return text
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > key.length) return false
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false
  return true
}
