// Timers the client can cancel all at once on close(), and the defaults of its retry and reconnect options.
import { HafniumConnectionError } from './errors.ts'
import type { CaptchaOptions, ReconnectOptions, RetryOptions } from './types.ts'

export interface Timers {
  /** Resolves after `ms`; rejects if cancelAll() runs first. */
  sleep(ms: number): Promise<void>
  /** `promise`, or a timeout error after `ms`. */
  race<T>(promise: Promise<T>, ms: number, message: string): Promise<T>
  cancelAll(error: Error): void
}

export function createTimers(): Timers {
  const live = new Map<ReturnType<typeof setTimeout>, (error: Error) => void>()
  const after = (ms: number, onTime: () => void, onCancel: (error: Error) => void) => {
    const timer = setTimeout(() => {
      live.delete(timer)
      onTime()
    }, ms)
    live.set(timer, onCancel)
    return timer
  }
  return {
    sleep(ms) {
      return new Promise((resolve, reject) => void after(ms, resolve, reject))
    },
    race(promise, ms, message) {
      return new Promise((resolve, reject) => {
        const timer = after(ms, () => reject(new HafniumConnectionError(message, { code: 'timeout' })), reject)
        promise.then(
          (value) => {
            clearTimeout(timer)
            live.delete(timer)
            resolve(value)
          },
          (error: unknown) => {
            clearTimeout(timer)
            live.delete(timer)
            reject(error)
          },
        )
      })
    },
    cancelAll(error) {
      for (const [timer, cancel] of live) {
        clearTimeout(timer)
        cancel(error)
      }
      live.clear()
    },
  }
}

export function retryOptions(option: boolean | RetryOptions | undefined): Required<RetryOptions> | undefined {
  if (!option) return undefined
  const given = option === true ? {} : option
  return { maxWaitMs: given.maxWaitMs ?? 30_000, maxAttempts: given.maxAttempts ?? 5 }
}

/** Captcha solving is on unless `false`; 30 s to solve unless told otherwise. */
export function captchaOptions(option: boolean | CaptchaOptions | undefined): CaptchaOptions | undefined {
  if (option === false) return undefined
  const given = typeof option === 'object' ? option : {}
  return { ...given, timeoutMs: given.timeoutMs ?? 30_000 }
}

export function reconnectOptions(option: boolean | ReconnectOptions | undefined): Required<ReconnectOptions> {
  const given = typeof option === 'object' ? option : {}
  return {
    initialDelayMs: given.initialDelayMs ?? 250,
    maxDelayMs: given.maxDelayMs ?? 10_000,
    maxAttempts: given.maxAttempts ?? Number.POSITIVE_INFINITY,
  }
}
