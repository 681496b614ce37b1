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
