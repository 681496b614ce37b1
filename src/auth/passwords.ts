// Password hashing (argon2id off the event loop, bounded concurrency) and the password policy for new passwords.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { hash as argon2Hash, parseOptions, verify as argon2Verify } from '@node-rs/argon2'
import type { Algorithm, Options } from '@node-rs/argon2'

/** argon2id cost; memoryCost in KiB. Defaults (19456/2/1, OWASP PSC floor) come from config. */
export type PasswordParams = { memoryCost: number; timeCost: number; parallelism: number }

export type PasswordHasher = {
  hash(password: string): Promise<string>
  verify(storedHash: string | null, password: string): Promise<{ ok: boolean; needsRehash: boolean }>
  /** argon2 hash + verify calls actually run (not those refused as busy). */
  readonly evaluations: number
}

/** More argon2 work is waiting than the queue allows; the caller answers it as a rate limit. */
export class HasherBusyError extends Error {
  override readonly name = 'HasherBusyError'
  constructor() {
    super('password hasher busy')
  }
}

// `Algorithm` and `Version` are const enums, which isolatedModules (verbatimModuleSyntax) cannot read.
const ARGON2ID = 2 as Algorithm
const VERSION_0X13 = 1 // Version.V0x13, the PHC `v=19`
const OUTPUT_LEN = 32 // library default; the dummy hash below must match it
const SALT_LEN = 16 // what the library generates

export function createPasswordHasher(opts: {
  params: PasswordParams
  maxConcurrent: number
  maxQueued: number
}): PasswordHasher {
  const { memoryCost, timeCost, parallelism } = opts.params
  const argonOptions: Options = { algorithm: ARGON2ID, memoryCost, timeCost, parallelism, outputLen: OUTPUT_LEN }
  const limit = createLimiter(opts.maxConcurrent, opts.maxQueued)
  let evaluations = 0
  let dummyHash: string | undefined

  // Counted when the work starts, inside the limiter, so a refused call costs nothing.
  const runHash = (password: string) =>
    limit(() => {
      evaluations++
      return argon2Hash(password, argonOptions)
    })
  const runVerify = (stored: string, password: string) =>
    limit(() => {
      evaluations++
      return argon2Verify(stored, password)
    })

  return {
    get evaluations() {
      return evaluations
    },

    hash(password) {
      return runHash(password.normalize('NFKC'))
    },

    async verify(storedHash, password) {
      const normalized = password.normalize('NFKC')
      if (storedHash === null) {
        // Unknown account: pay one full argon2 evaluation at the current params so the reply time
        // does not reveal whether the account exists. The dummy is random salt + random digest in
        // PHC form, so building it costs no argon2 run (no slow first call) and no password can match.
        dummyHash ??= encodeDummyHash(opts.params)
        await runVerify(dummyHash, normalized)
        return { ok: false, needsRehash: false }
      }
      const ok = await runVerify(storedHash, normalized)
      return { ok, needsRehash: ok && needsRehash(storedHash, opts.params) }
    },
  }
}

/** True when the stored hash was made with another algorithm, version or cost than `params` (OWASP PSC "Upgrading the Work Factor"). */
function needsRehash(storedHash: string, params: PasswordParams): boolean {
  const stored = parseOptions(storedHash)
  return (
    stored.algorithm !== ARGON2ID ||
    stored.version !== VERSION_0X13 ||
    stored.memoryCost !== params.memoryCost ||
    stored.timeCost !== params.timeCost ||
    stored.parallelism !== params.parallelism ||
    stored.outputLen !== OUTPUT_LEN
  )
}

function encodeDummyHash({ memoryCost, timeCost, parallelism }: PasswordParams): string {
  const b64 = (n: number) => randomBytes(n).toString('base64').replace(/=+$/, '') // PHC base64 has no padding
  return `$argon2id$v=19$m=${memoryCost},t=${timeCost},p=${parallelism}$${b64(SALT_LEN)}$${b64(OUTPUT_LEN)}`
}

/**
 * At most `maxConcurrent` tasks run; up to `maxQueued` wait in FIFO order; beyond that the call
 * rejects at once. argon2 runs on libuv's pool (4 threads by default), so unbounded callers would
 * only queue there, holding 19 MiB each and stretching every login's latency.
 */
function createLimiter(maxConcurrent: number, maxQueued: number) {
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError('maxConcurrent must be an integer ≥ 1')
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError('maxQueued must be an integer ≥ 0')
  let active = 0
  const waiting: Array<() => void> = []

  return async function limit<T>(task: () => Promise<T>): Promise<T> {
    if (active < maxConcurrent) {
      active++
    } else if (waiting.length < maxQueued) {
      // The finishing task hands its slot straight to us (active stays put), so a newcomer
      // cannot overtake a queued call.
      await new Promise<void>((resolve) => waiting.push(resolve))
    } else {
      throw new HasherBusyError()
    }
    try {
      return await task()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else active--
    }
  }
}

export type PasswordVerdict = 'too_short' | 'too_long' | 'common' | 'context'

/**
 * Refusal reason for a new password, or null when acceptable. No composition rules (NIST 800-63B,
 * ASVS 5.0 6.2.5). Lengths count code points after NFKC (NIST: each code point is one character).
 * `context` holds words a guesser would try first: username, email, its local part, server name.
 */
export function checkPasswordPolicy(
  password: string,
  opts: { minLength: number; maxLength?: number; context: string[] },
): PasswordVerdict | null {
  const normalized = password.normalize('NFKC')
  const codePoints = [...normalized]
  if (codePoints.length < opts.minLength) return 'too_short'
  if (codePoints.length > (opts.maxLength ?? 256)) return 'too_long'

  const lower = normalized.toLowerCase()
  if (commonPasswords().has(lower)) return 'common'
  const lowerPoints = [...lower]
  if (lowerPoints.length > 0 && lowerPoints.every((c) => c === lowerPoints[0])) return 'common' // `aaaaaaaa`, `aAaAaAaA`

  for (const word of opts.context) {
    const w = word.normalize('NFKC').toLowerCase()
    if (w === '') continue
    // Containment only for words of ≥ 4 code points: shorter ones (a 3-letter name) would refuse
    // too many unrelated passwords.
    if (lower === w || ([...w].length >= 4 && lower.includes(w))) return 'context'
  }
  return null
}

let common: Set<string> | undefined

/** The list, read once on first use. Sync is fine: ~80 KB, once per process. */
function commonPasswords(): Set<string> {
  // src/auth/ and dist/auth/ both sit two levels below the package root, next to data/.
  common ??= new Set(
    readFileSync(new URL('../../data/common-passwords.txt', import.meta.url), 'utf8')
      .split(/\r?\n/)
      .filter((line) => line !== ''),
  )
  return common
}
