// The seeded fuzzer (fast-check): envelopes and payloads of every message type, and raw frame
// sequences, one seeded batch per call (fuzz-loop.ts runs batches on a time box for the smoke and
// heavy tiers). Every reply must be well-formed (envelope shape; ok replies match the reply schema;
// errors carry a known errID, never internal_error) and every close code must be a documented one.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import WebSocket from 'ws'
import { errors } from '../../src/errors.ts'
import { loadSchemas, schemasDir } from '../../src/schemas.ts'
import type { TestServer } from '../support/server.ts'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'
import type { Test } from 'uvu'
import { deadline, frame, rawUpgrade, closeCodeIn, startQuietServer } from './support.ts'

const schemas = loadSchemas()
const eventTypes = new Set(schemas.typesWith('event'))
/** Close codes the server documents: 1002 protocol, 1003 binary, 1007 bad UTF-8, 1008 policy, 1009 too big. */
export const documentedCloseCodes = new Set([1002, 1003, 1007, 1008, 1009])
const password = 'balcony-scene-2'

export interface FuzzStats {
  sent: number
  replies: number
  ok: number
  byErrID: Record<string, number>
  closes: Record<string, number>
  problems: string[]
}

const newStats = (): FuzzStats => ({ sent: 0, replies: 0, ok: 0, byErrID: {}, closes: {}, problems: [] })

/** Checks one reply frame; returns a problem description or undefined. */
export function checkReply(text: string, domains: readonly string[]): { problem?: string; errID?: string; ok?: boolean } {
  let reply: Record<string, unknown>
  try {
    reply = JSON.parse(text) as Record<string, unknown>
  } catch {
    return { problem: `not JSON: ${text.slice(0, 200)}` }
  }
  const keys = Object.keys(reply)
  const allowed = new Set(['id', 'type', 'from', 'to', 'ok', 'payload'])
  if (keys.some((k) => !allowed.has(k)) || !['id', 'type', 'from', 'ok', 'payload'].every((k) => k in reply)) {
    return { problem: `bad envelope keys ${keys.join(',')}` }
  }
  if (typeof reply.id !== 'string' || typeof reply.type !== 'string' || typeof reply.ok !== 'boolean') return { problem: `bad envelope ${text.slice(0, 200)}` }
  if (!domains.includes(reply.from as string)) return { problem: `from ${String(reply.from)}` }
  if ('to' in reply && typeof reply.to !== 'string') return { problem: 'to is not a string' }
  const payload = reply.payload as Record<string, unknown>
  if (reply.ok) {
    const validate = schemas.validatorFor(reply.type, 'reply')
    if (!validate) return { problem: `ok reply for a type without reply schema: ${reply.type}` }
    if (!validate(payload)) return { problem: `${reply.type} reply breaks its schema: ${JSON.stringify(validate.errors?.[0])}` }
    return { ok: true }
  }
  if (typeof payload !== 'object' || payload === null) return { problem: 'error payload not an object' }
  const errID = payload.errID as string
  if (!(errID in errors)) return { problem: `unknown errID ${String(errID)}` }
  if (typeof payload.errText !== 'string') return { problem: 'errText not a string' }
  if ('errPayload' in payload && (typeof payload.errPayload !== 'object' || payload.errPayload === null)) return { problem: 'errPayload not an object' }
  if (Object.keys(payload).some((k) => !['errID', 'errText', 'errPayload'].includes(k))) return { problem: 'extra error keys' }
  if (errID === 'internal_error') return { problem: `internal_error for ${reply.type}`, errID }
  return { errID, ok: false }
}

// ---------------------------------------------------------------------------------------------------
// Envelopes

/** Raw JSON spliced in where a generated value is a marker: things JSON.stringify cannot produce. */
const rawTokens = [
  '1e400',
  '-1e400',
  '9'.repeat(400),
  '-0',
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"a\\u0000b"',
  '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"isAdmin":true}}}',
  '['.repeat(3000) + ']'.repeat(3000),
  '{"a":'.repeat(1000) + '1' + '}'.repeat(1000),
  '{' + Array.from({ length: 500 }, (_, i) => `"k${i}":${i}`).join(',') + '}',
]
const marker = (i: number) => `\u0001RAW${i}\u0001`
const splice = (json: string) => json.replace(/"\\u0001RAW(\d+)\\u0001"/g, (_, i: string) => rawTokens[Number(i)]!)

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n })
/** Plausible values per field name, so that some requests get past validation into handlers. */
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  username: fc.constantFrom('juliet', 'romeo', 'Fuzz.User', 'nurse', 'x'),
  password: fc.constantFrom(password, 'short', 'a'.repeat(300)),
  loginID: fc.constantFrom('juliet', 'juliet@verona.example', '+15550000001', '@juliet@localhost'),
  thirdPID: fc.oneof(fc.constantFrom('juliet@verona.example', '+15550000001', 'nobody@verona.example'), fc.record({ type: fc.constantFrom('email', 'msisdn'), value: fc.constantFrom('a@b.example', '+15550000009') })),
  thirdPIDs: fc.array(fc.record({ type: fc.constantFrom('email', 'msisdn'), value: fc.constantFrom('fuzz@verona.example', '+15550000002') }), { minLength: 1, maxLength: 2 }),
  authToken: hex(64),
  deviceID: fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 10, maxLength: 10 }),
  userID: fc.constantFrom('@juliet@localhost', '@romeo@localhost', '@nobody@localhost', '@x@example.com'),
  verificationID: fc.string({ unit: fc.constantFrom(...'abcXYZ019_-'), minLength: 1, maxLength: 30 }),
  verificationToken: fc.string({ unit: fc.constantFrom(...'abcXYZ019_-'), minLength: 1, maxLength: 50 }),
  sudoToken: fc.string({ unit: fc.constantFrom(...'abcXYZ019_-'), minLength: 1, maxLength: 50 }),
  code: fc.constantFrom('000000', '123456', '12345'),
  channel: fc.constantFrom('email', 'msisdn', 'carrier-pigeon'),
  purpose: fc.constantFrom('signup', 'login', 'reset_password', 'bind', 'confirm', 'sudo', 'other'),
  deviceName: fc.string({ maxLength: 140 }),
  loginOnSuccess: fc.boolean(),
  everywhere: fc.boolean(),
}

const nasty: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 5000 }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: rawTokens.length - 1 }).map(marker) },
)

/** The property names a type's request schema knows (following a top-level $ref into defs.json). */
function requestKeys(type: string): string[] {
  const [ns, verb] = type.split(':')
  let schema = JSON.parse(readFileSync(join(schemasDir, ns!, `${verb}.json`), 'utf8')) as { $ref?: string; properties?: object }
  if (schema.$ref?.startsWith('../defs.json#/$defs/')) {
    const defs = JSON.parse(readFileSync(join(schemasDir, 'defs.json'), 'utf8')) as { $defs: Record<string, { properties?: object }> }
    schema = defs.$defs[schema.$ref.slice('../defs.json#/$defs/'.length)]!
  }
  return Object.keys(schema.properties ?? {})
}

function payloadArb(type: string): fc.Arbitrary<unknown> {
  const keys = requestKeys(type)
  const fields = Object.fromEntries(keys.map((k) => [k, plausible[k] ? fc.oneof({ weight: 3, arbitrary: plausible[k]! }, { weight: 1, arbitrary: nasty }) : nasty]))
  const known = fc.record(fields, { requiredKeys: [] })
  return fc.oneof(
    { weight: 6, arbitrary: known },
    { weight: 1, arbitrary: fc.tuple(known, fc.dictionary(fc.string({ maxLength: 12 }), nasty, { maxKeys: 3 })).map(([a, b]) => ({ ...b, ...(a as object) })) },
    { weight: 1, arbitrary: nasty },
  )
}

/** One request frame as text: mostly a valid skeleton around a generated payload, sometimes a broken envelope. */
export function envelopeArb(types: readonly string[]): fc.Arbitrary<string> {
  const byType = fc.constantFrom(...types).chain((type) => fc.tuple(fc.constant(type), payloadArb(type)))
  const id = fc.oneof({ weight: 20, arbitrary: fc.nat().map((n) => `f${n}`) }, { weight: 1, arbitrary: nasty })
  const to = fc.oneof({ weight: 20, arbitrary: fc.constant('localhost') }, { weight: 1, arbitrary: nasty })
  const extraKeys = fc.oneof(
    { weight: 15, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('from', 'extra', '__proto__', 'constructor'), nasty, { minKeys: 1, maxKeys: 2 }) },
  )
  const valid = fc.tuple(byType, id, to, extraKeys).map(
    ([[type, payload], id, to, extra]) => splice(JSON.stringify({ ...(extra ?? {}), id, type, to, payload })),
  )
  const broken = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.integer({ min: 0, max: rawTokens.length - 1 }).map((i) => rawTokens[i]!),
    fc
      .tuple(fc.oneof(fc.constantFrom(...types, 'nope:nope', ''), fc.string({ maxLength: 40 })), nasty)
      .map(([type, payload]) => splice(JSON.stringify({ id: 'b', type, to: 'localhost', payload }))),
  )
  return fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: broken })
}

/** A socket that counts replies in order (events are set aside) and reports its close. */
interface FuzzSocket {
  ws: WebSocket
  /** Sends one frame and resolves with its reply text, or with the close code if the server closed. */
  ask(text: string): Promise<{ reply?: string; close?: number }>
}

function openFuzzSocket(url: string): Promise<FuzzSocket> {
  const ws = new WebSocket(url)
  let waiting: ((r: { reply?: string; close?: number }) => void) | undefined
  let closeCode: number | undefined
  ws.on('message', (data) => {
    const text = data.toString()
    try {
      const parsed = JSON.parse(text) as { id?: unknown; type?: unknown }
      if (typeof parsed.id === 'string' && parsed.id.startsWith('ev:') && eventTypes.has(String(parsed.type))) return
    } catch {
      // checked by the caller
    }
    const w = waiting
    waiting = undefined
    w?.({ reply: text })
  })
  ws.on('close', (code) => {
    closeCode = code
    const w = waiting
    waiting = undefined
    w?.({ close: code })
  })
  ws.on('error', () => {})
  return new Promise((resolve, reject) => {
    ws.once('open', () =>
      resolve({
        ws,
        ask(text) {
          if (closeCode !== undefined) return Promise.resolve({ close: closeCode })
          const answer = new Promise<{ reply?: string; close?: number }>((r) => (waiting = r))
          ws.send(text)
          return deadline(answer, 10_000, `reply to ${text.slice(0, 120)}`)
        },
      }),
    )
    ws.once('error', reject)
  })
}

/** A socket logged in as a fresh account `<prefix><n>`. */
async function authedSocket(url: string, prefix: string, n: number): Promise<FuzzSocket & { userID: string }> {
  const s = await openFuzzSocket(url)
  const username = `${prefix}${n}`
  await s.ask(JSON.stringify({ id: 'auth', type: 'profile:register', to: 'localhost', payload: { username, password, loginOnSuccess: true } }))
  return { ...s, userID: `@${username}@localhost` }
}

/**
 * Sends `runs` generated frames, each on an anonymous and on an authenticated socket, `lanes` at a time.
 * A socket the server closed (documented code) is replaced; so is an authenticated one that lost its session.
 * Its accounts are `<accountPrefix><n>`: batches on one server need distinct prefixes, or every
 * registration after the first batch's would fail and the "authenticated" sockets would be anonymous.
 */
export async function fuzzEnvelopes(t: TestServer, options: { runs: number; seed: number; lanes?: number; accountPrefix?: string }): Promise<FuzzStats> {
  const stats = newStats()
  const types = [...t.server.deps.server.types]
  const samples = fc.sample(envelopeArb(types), { numRuns: options.runs, seed: options.seed })
  const lanes = options.lanes ?? 4
  const prefix = options.accountPrefix ?? 'fuzzer'
  let accounts = 0
  const domains = t.config.server.domains
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      let anon = await openFuzzSocket(t.url)
      let authed = await authedSocket(t.url, prefix, accounts++)
      for (let i = lane; i < samples.length; i += lanes) {
        const text = samples[i]!
        for (const which of ['anon', 'authed'] as const) {
          const socket = which === 'anon' ? anon : authed
          stats.sent++
          let result: { reply?: string; close?: number }
          try {
            result = await socket.ask(text)
          } catch (error) {
            stats.problems.push(`${(error as Error).message} [seed ${options.seed}, sample ${i}]`)
            result = { close: -1 }
            socket.ws.terminate()
          }
          if (result.reply !== undefined) {
            stats.replies++
            const check = checkReply(result.reply, domains)
            if (check.problem) stats.problems.push(`${check.problem} ← ${text.slice(0, 300)} [seed ${options.seed}, sample ${i}]`)
            else if (check.ok) stats.ok++
            else stats.byErrID[check.errID!] = (stats.byErrID[check.errID!] ?? 0) + 1
          } else {
            stats.closes[String(result.close)] = (stats.closes[String(result.close)] ?? 0) + 1
            if (!documentedCloseCodes.has(result.close!)) stats.problems.push(`closed with ${result.close} ← ${text.slice(0, 300)} [seed ${options.seed}, sample ${i}]`)
            if (which === 'anon') anon = await openFuzzSocket(t.url)
            else authed = await authedSocket(t.url, prefix, accounts++)
          }
        }
        // The fuzzer may have logged the authenticated socket out, or deleted its account: start afresh.
        if ((i - lane) % (25 * lanes) === 0 && ![...t.server.connections].some((c) => c.session?.userID === authed.userID)) {
          authed.ws.terminate()
          authed = await authedSocket(t.url, prefix, accounts++)
        }
      }
      anon.ws.terminate()
      authed.ws.terminate()
    }),
  )
  return stats
}

// ---------------------------------------------------------------------------------------------------
// Raw frames

const frameArb = fc.record({
  opcode: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  fin: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
  mask: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  payload: fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    fc.constantFrom(
      Buffer.from('{"id":"r","type":"server:ping","to":"localhost","payload":{}}'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.alloc(0),
      Buffer.alloc(130, 0x20),
      Buffer.alloc(70_000, 0x61),
    ),
    fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.string({ unit: 'binary', maxLength: 40 })).map(([code, reason]) => {
      const b = Buffer.alloc(2)
      b.writeUInt16BE(code)
      return Buffer.concat([b, Buffer.from(reason)])
    }),
  ),
})

export function frameSequenceArb(): fc.Arbitrary<Buffer[]> {
  return fc.array(frameArb, { minLength: 1, maxLength: 6 }).map((frames) => frames.map((f) => frame(f.payload, f)))
}

/**
 * Each sample: a raw upgraded socket sends the frame sequence, then a valid ping. Outcomes: the ping
 * is answered, or the server closes (the code must be documented). Every generated frame is complete,
 * so a socket that neither answers nor closes within `stallMs` is stuck: that is a problem too.
 */
export async function fuzzFrames(t: TestServer, options: { runs: number; seed: number; parallel?: number; stallMs?: number }): Promise<FuzzStats & { stalled: number }> {
  const stats = { ...newStats(), stalled: 0 }
  const samples = fc.sample(frameSequenceArb(), { numRuns: options.runs, seed: options.seed })
  const parallel = options.parallel ?? 20
  const probe = frame('{"id":"probe","type":"server:ping","to":"localhost","payload":{}}')
  const one = async (i: number) => {
    const socket = await rawUpgrade(t.server.port, { localAddress: `127.0.2.${1 + (i % 200)}` })
    let read = Buffer.alloc(0)
    const outcome = await new Promise<'answered' | 'closed' | 'stalled'>((resolve) => {
      const timer = setTimeout(() => resolve('stalled'), options.stallMs ?? 1500)
      socket.on('data', (chunk: Buffer) => {
        read = Buffer.concat([read, chunk])
        if (read.includes('"id":"probe"')) {
          clearTimeout(timer)
          resolve('answered')
        }
      })
      socket.once('close', () => {
        clearTimeout(timer)
        resolve('closed')
      })
      socket.on('error', () => {})
      socket.write(Buffer.concat([...samples[i]!, probe]))
    })
    socket.destroy()
    stats.sent++
    if (outcome === 'stalled') {
      stats.stalled++
      const sent = samples[i]!.map((f) => f.subarray(0, 2).toString('hex')).join(' ')
      stats.problems.push(`stalled: neither the probe's reply nor a close within ${options.stallMs ?? 1500} ms (frame heads ${sent}) [seed ${options.seed}, sample ${i}]`)
    }
    const code = closeCodeIn(read)
    if (code !== undefined) {
      // A valid close frame from the client is echoed with its code; any other code must be documented.
      const key = documentedCloseCodes.has(code) ? String(code) : isEcho(samples[i]!, code) ? 'echo' : String(code)
      stats.closes[key] = (stats.closes[key] ?? 0) + 1
      if (!documentedCloseCodes.has(code) && key !== 'echo') stats.problems.push(`close ${code} [seed ${options.seed}, sample ${i}]`)
    } else if (outcome === 'closed') stats.closes.none = (stats.closes.none ?? 0) + 1
    if (outcome === 'answered') stats.replies++
  }
  for (let start = 0; start < samples.length; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, samples.length - start) }, (_, k) => one(start + k)))
  }
  return stats
}

/** Whether the server's close code is the echo of a valid close frame the client sent (RFC 6455 §5.5.1). */
function isEcho(frames: Buffer[], code: number): boolean {
  return frames.some((f) => (f[0]! & 0x0f) === 8 && unmaskedCloseCode(f) === code)
}

function unmaskedCloseCode(f: Buffer): number | undefined {
  const masked = (f[1]! & 0x80) !== 0
  let length = f[1]! & 0x7f
  let at = 2
  if (length === 126) {
    length = f.readUInt16BE(2)
    at = 4
  } else if (length === 127) return undefined
  const key = masked ? f.subarray(at, at + 4) : undefined
  if (masked) at += 4
  if (length < 2) return 1005
  const b0 = f[at]! ^ (key ? key[0]! : 0)
  const b1 = f[at + 1]! ^ (key ? key[1]! : 0)
  return (b0 << 8) | b1
}

export { password as fuzzPassword }

export interface FuzzContext {
  t: TestServer
  /** uncaught exceptions and unhandled rejections seen while the suite ran */
  uncaught: unknown[]
  onError: (e: unknown) => void
}

/**
 * Label values on /metrics outside the fixed set (the served types, "unknown", "handler"; ok and
 * errIDs): a fuzzer that could mint them could grow the registry without bound (issue 11 item 10).
 */
export async function unexpectedLabels(t: TestServer): Promise<string[]> {
  const text = await (await fetch(t.url.replace('ws://', 'http://') + 'metrics')).text()
  const types = new Set([...t.server.deps.server.types, 'unknown', 'handler'])
  const outcomes = new Set(['ok', ...Object.keys(errors)])
  const odd = new Set<string>()
  for (const [, name, value] of text.matchAll(/[{,](type|outcome)="((?:[^"\\]|\\.)*)"/g)) {
    if (!(name === 'type' ? types : outcomes).has(value!)) odd.add(`${name}=${value}`)
  }
  return [...odd]
}

/** A quiet server per suite, with uncaught exceptions and rejections collected instead of crashing the run. */
export function useFuzzServer(test: Test<FuzzContext>, overrides: DeepPartial<Config> = {}): void {
  test.before(async (ctx) => {
    ctx.t = await startQuietServer(overrides)
    ctx.uncaught = []
    ctx.onError = (e) => ctx.uncaught.push(e)
    process.on('uncaughtException', ctx.onError)
    process.on('unhandledRejection', ctx.onError)
  })
  test.after(async (ctx) => {
    process.off('uncaughtException', ctx.onError)
    process.off('unhandledRejection', ctx.onError)
    await ctx.t.close()
  })
}
