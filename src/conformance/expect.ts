// Assertions of the conformance suite: each failure is one readable reason, never a stack trace.
import type { ErrorPayload, ReplyEnvelope } from '../client/index.ts'

export class CheckFailure extends Error {}

export function fail(reason: string): never {
  throw new CheckFailure(reason)
}

export function expect(condition: unknown, reason: string): asserts condition {
  if (!condition) fail(reason)
}

export function show(value: unknown): string {
  const text = JSON.stringify(value)
  return text === undefined ? String(value) : text.length > 300 ? `${text.slice(0, 300)}…` : text
}

export function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (show(actual) !== show(expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

/** An `ok: true` reply to `type`; returns its payload. */
export function expectOk(reply: ReplyEnvelope, type: string): Record<string, unknown> {
  if (!reply.ok) {
    const { errID, errText } = (reply.payload ?? {}) as Partial<ErrorPayload>
    fail(`${type} was refused with ${errID ?? show(reply.payload)}${errText ? ` (${errText})` : ''}`)
  }
  expectEqual(reply.type, type, 'reply type')
  expect(typeof reply.payload === 'object' && reply.payload !== null && !Array.isArray(reply.payload), `reply payload is not an object: ${show(reply.payload)}`)
  return reply.payload as Record<string, unknown>
}

/** An error reply (contract §2): ok false, `errID` as expected, a non-empty errText, an object errPayload if any. */
export function expectError(reply: ReplyEnvelope, errID: string, echo: { id?: string; type?: string } = {}): ErrorPayload {
  const payload = (reply.payload ?? {}) as Partial<ErrorPayload>
  if (reply.ok) fail(`expected ${errID}, got ok: true with ${show(reply.payload)}`)
  if (payload.errID !== errID) fail(`expected ${errID}, got ${payload.errID === undefined ? show(reply.payload) : payload.errID}`)
  expect(typeof payload.errText === 'string' && payload.errText !== '', `errText must be a non-empty string, got ${show(payload.errText)}`)
  if (payload.errPayload !== undefined) {
    expect(typeof payload.errPayload === 'object' && payload.errPayload !== null && !Array.isArray(payload.errPayload), 'errPayload must be an object')
  }
  if (echo.id !== undefined) expectEqual(reply.id, echo.id, 'reply id')
  if (echo.type !== undefined) expectEqual(reply.type, echo.type, 'reply type')
  return payload as ErrorPayload
}

/** `errPayload.errors` is a non-empty list of `{path, message}` with JSON-pointer paths (contract §3). */
export function expectErrorList(error: ErrorPayload): { path: string; message: string }[] {
  const errors = error.errPayload?.errors
  expect(Array.isArray(errors) && errors.length > 0, `errPayload.errors must be a non-empty array, got ${show(errors)}`)
  for (const item of errors as unknown[]) {
    const { path, message } = (item ?? {}) as { path?: unknown; message?: unknown }
    expect(typeof path === 'string' && (path === '' || path.startsWith('/')), `error path must be a JSON pointer, got ${show(path)}`)
    expect(typeof message === 'string' && message !== '', `error message must be a non-empty string, got ${show(message)}`)
  }
  return errors as { path: string; message: string }[]
}

export const patterns = {
  authToken: /^[0-9a-f]{64}$/,
  deviceID: /^[A-Z0-9]{10}$/,
}

export function expectMatch(value: unknown, pattern: RegExp, what: string): void {
  expect(typeof value === 'string' && pattern.test(value), `${what} must match ${pattern}, got ${show(value)}`)
}
