// Holds a request at a known point: argon2 verifications of one password wait until the test releases
// them, so a race is run in its bad interleaving every time instead of by luck. It wraps the server's
// password hasher (deps is read per request), the same seam a test clock uses.
import type { PasswordHasher } from '../../src/auth/passwords.ts'
import type { TestServer } from './server.ts'

export interface Gate {
  /** Resolves once `count` verifications of the password have started (and wait); rejects after `timeoutMs`. */
  readonly entered: Promise<void>
  /** Lets the held verifications run; later ones pass straight through. */
  release(): void
}

/** Holds the next `count` verifications of `password` (other passwords pass); remove() puts the hasher back. */
export function holdVerify(t: TestServer, password: string, { count = 1, timeoutMs = 15_000 } = {}): Gate & { remove(): void } {
  const deps = t.server.deps
  const original: PasswordHasher = deps.passwords
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
    const why = () => `timed out after ${timeoutMs} ms waiting for ${count} verification(s) of the held password to start (${held} did)`
    timer = setTimeout(() => reject(new Error(why())), timeoutMs)
  })
  deps.passwords = {
    hash: (plain) => original.hash(plain),
    async verify(storedHash, candidate) {
      if (candidate === password && held < count) {
        if (++held === count) enteredAll()
        await released
      }
      return original.verify(storedHash, candidate)
    },
    get evaluations() {
      return original.evaluations
    },
  }
  return {
    entered,
    release,
    remove() {
      clearTimeout(timer)
      release()
      deps.passwords = original
    },
  }
}

/**
 * Holds the next `count` calls of `object[method]` after the call has run and before its result is
 * returned (a read the caller acts on later): the caller is parked between its read and its write.
 * remove() puts the method back and lets held calls go.
 */
export function holdAfter<O extends object, K extends keyof O>(
  object: O,
  method: K,
  { count = 1, timeoutMs = 15_000 } = {},
): Gate & { remove(): void } {
  const original = object[method] as (...args: unknown[]) => Promise<unknown>
  let held = 0
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let timer: NodeJS.Timeout | undefined
  const entered = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} call(s) of ${String(method)} to be held (${held} were)`)), timeoutMs)
    object[method] = (async (...args: unknown[]) => {
      const result = await original.apply(object, args)
      if (held < count) {
        if (++held === count) {
          clearTimeout(timer)
          resolve()
        }
        await released
      }
      return result
    }) as O[K]
  })
  return {
    entered,
    release,
    remove() {
      clearTimeout(timer)
      release()
      object[method] = original as O[K]
    },
  }
}
