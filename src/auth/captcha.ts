// ALTCHA proof-of-work challenges (contract §15): created when a captcha rule is exhausted, verified once.
import { createHash } from 'node:crypto'
import { createChallenge, randomInt, verifySolution, type Challenge, type Solution } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/sha'
import type { CaptchaStore } from '../store/captcha.ts'

export interface CaptchaOptions {
  /** The solver tries counters from 0 up to the secret one, drawn below this: the difficulty. */
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
    // Deterministic mode (a known counter, its derived key signed): verifying is two HMACs, not a
    // re-derivation, so a flood of wrong solutions costs the server little.
    challenge: () =>
      createChallenge({
        algorithm: 'SHA-256',
        cost: 1,
        counter: randomInt(options.maxCounter),
        deriveKey,
        hmacSignatureSecret,
        hmacKeySignatureSecret,
        expiresAt: Math.floor(Date.now() / 1000) + options.expiresSeconds,
      }),
    async verify(payload) {
      const decoded = decode(payload)
      if (!decoded) return false
      const result = await verifySolution({ ...decoded, deriveKey, hmacSignatureSecret, hmacKeySignatureSecret })
      if (!result.verified) return false
      // Verified means the signature is ours, so signature and expiresAt are present and untampered.
      const signatureHash = createHash('sha256').update(decoded.challenge.signature!).digest()
      return store.spend(signatureHash, decoded.challenge.parameters.expiresAt ?? 0)
    },
  }
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
