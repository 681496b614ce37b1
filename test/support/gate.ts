// Holds a request at a known point: argon2 verifications of one password, or the result of a store read,
// wait until the test releases them, so a race is run in its bad interleaving every time instead of by
// luck. holdVerify wraps the server's password hasher (deps is read per request), the same seam a test
// clock uses; holdAfter wraps one method of an object (a store).
import type { PasswordHasher } from '../../src/auth/passwords.ts'
import type { TestServer } from './server.ts'

export interface Gate {
  /** Resolves once `count` calls are held; rejects after `timeoutMs` saying how many were. */
  readonly entered: Promise<void>
  /** Lets the held calls run; later ones pass straight through. */
  release(): void
  /** Puts the wrapped function back and lets held calls go. */
  remove(): void
}

/**
 * The scaffolding both share: `hold()` parks the next `count` calls until release() (a promise to await),
 * and passes later ones (undefined); `restore` puts the wrapped function back at remove().
 */
function gate(count: number, timeoutMs: number, what: string, restore: () => void): Gate & { hold(): Promise<void> | undefined } {
  let held = 0
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let timer: NodeJS.Timeout | undefined
  let enteredAll!: () => void
  const entered = new Promise<void>((resolve, reject) => {
    enteredAll = () => {
      clearTimeout(timer)
      resolve()
    }
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} ${what} to be held (${held} were)`)), timeoutMs)
  })
  return {
    entered,
    release,
    hold() {
      if (held >= count) return undefined
      if (++held === count) enteredAll()
      return released
    },
    remove() {
      clearTimeout(timer)
      release()
      restore()
    },
  }
}

/** Holds the next `count` verifications of `password` as they start (other passwords pass). */
export function holdVerify(t: TestServer, password: string, { count = 1, timeoutMs = 15_000 } = {}): Gate {
  const deps = t.server.deps
  const original: PasswordHasher = deps.passwords
  const { hold, ...held } = gate(count, timeoutMs, 'verification(s) of the held password', () => (deps.passwords = original))
  deps.passwords = {
    hash: (plain) => original.hash(plain),
    async verify(storedHash, candidate) {
      if (candidate === password) await hold()
      return original.verify(storedHash, candidate)
    },
    get evaluations() {
      return original.evaluations
    },
  }
  return held
}

/**
 * Holds the next `count` calls of `object[method]` after the call has run and before its result is
 * returned (a read the caller acts on later): the caller is parked between its read and its write.
 */
export function holdAfter<O extends object, K extends keyof O>(object: O, method: K, { count = 1, timeoutMs = 15_000 } = {}): Gate {
  const original = object[method] as (...args: unknown[]) => Promise<unknown>
  const { hold, ...held } = gate(count, timeoutMs, `call(s) of ${String(method)}`, () => (object[method] = original as O[K]))
  object[method] = (async (...args: unknown[]) => {
    const result = await original.apply(object, args)
    await hold()
    return result
  }) as O[K]
  return held
}
