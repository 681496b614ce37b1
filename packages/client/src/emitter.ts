// A tiny typed-by-key emitter and an async-iterator queue: no node:events, so the library runs in browsers.

export type Unsubscribe = () => void

export interface Emitter<A extends unknown[]> {
  /** Calls `fn` for every emit of `key`; the key `*` receives every emit. Returns an unsubscribe function. */
  on(key: string, fn: (...args: A) => void): Unsubscribe
  off(key: string, fn: (...args: A) => void): void
  /** Calls listeners of `key` then of `*`; true when there was at least one. */
  emit(key: string, ...args: A): boolean
  clear(): void
}

export function createEmitter<A extends unknown[]>(): Emitter<A> {
  const listeners = new Map<string, Set<(...args: A) => void>>()
  const off = (key: string, fn: (...args: A) => void) => {
    const set = listeners.get(key)
    set?.delete(fn)
    if (set?.size === 0) listeners.delete(key)
  }
  return {
    on(key, fn) {
      let set = listeners.get(key)
      if (!set) listeners.set(key, (set = new Set()))
      set.add(fn)
      return () => off(key, fn)
    },
    off,
    emit(key, ...args) {
      let called = false
      for (const name of key === '*' ? ['*'] : [key, '*']) {
        // A copy: a listener may unsubscribe itself while we iterate.
        for (const fn of [...(listeners.get(name) ?? [])]) {
          called = true
          try {
            fn(...args)
          } catch (error) {
            // One failing listener does not starve the others; the error still surfaces, as from an EventEmitter.
            queueMicrotask(() => {
              throw error
            })
          }
        }
      }
      return called
    },
    clear: () => listeners.clear(),
  }
}

export interface Queue<T> {
  push(value: T): void
  /** Ends iteration once the buffered values are taken. */
  end(): void
  readonly iterator: AsyncIterableIterator<T>
}

/**
 * Buffers pushed values for a `for await` loop. Holds at most `limit` unread values (the oldest
 * are dropped), so an iterator nobody reads cannot grow without bound.
 */
export function createQueue<T>(onReturn: () => void, limit = 1000): Queue<T> {
  const buffer: T[] = []
  const waiting: ((result: IteratorResult<T>) => void)[] = []
  let ended = false
  const finish = () => {
    if (ended) return
    ended = true
    onReturn()
    for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true })
  }
  const iterator: AsyncIterableIterator<T> = {
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false })
      if (ended) return Promise.resolve({ value: undefined, done: true })
      return new Promise((resolve) => waiting.push(resolve))
    },
    return() {
      buffer.length = 0
      finish()
      return Promise.resolve({ value: undefined, done: true })
    },
    [Symbol.asyncIterator]() {
      return iterator
    },
  }
  return {
    push(value) {
      if (ended) return
      const resolve = waiting.shift()
      if (resolve) return resolve({ value, done: false })
      buffer.push(value)
      if (buffer.length > limit) buffer.shift()
    },
    end: finish,
    iterator,
  }
}
