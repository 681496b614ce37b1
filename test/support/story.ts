// Reads the story marks of protocol.md and matches documented frames with real ones (see test/protocol/examples.test.ts).
import { readFileSync } from 'node:fs'
import * as assert from 'uvu/assert'

const doc = readFileSync(new URL('../../protocol.md', import.meta.url), 'utf8')

export type Frame = Record<string, any>

export interface Step {
  n: number
  socket: string
  request?: Frame
  replies: Frame[]
  server?: Record<string, unknown>
  /** Where it is in protocol.md, for messages. */
  line: number
}

export interface EventCheck {
  after: number
  socket: string
  event: Frame
  line: number
}

const directive =
  /^<!-- story: (?:step (\d+)(?: on ([\w-]+))?(?:, new server (\{.*\}))?(?: sends (\{.*\}))?|event after (\d+) on ([\w-]+)) -->$/

/** Reads the story marks and JSON blocks of protocol.md in document order. */
export function readStory(): { steps: Step[]; events: EventCheck[] } {
  const lines = doc.split('\n')
  const steps = new Map<number, Step>()
  const events: EventCheck[] = []
  let mark: RegExpExecArray | null = null
  let markLine = 0
  let current: Step | undefined
  const stepFor = (n: number, line: number, socket?: string) => {
    let step = steps.get(n)
    if (!step) steps.set(n, (step = { n, socket: socket ?? '', replies: [], line }))
    if (socket && step.socket && socket !== step.socket) throw new Error(`protocol.md:${line}: step ${n} is on ${step.socket} elsewhere, not ${socket}`)
    if (socket) step.socket = socket
    return step
  }
  const setRequest = (step: Step, request: Frame, line: number) => {
    if (step.request && JSON.stringify(step.request) !== JSON.stringify(request)) {
      throw new Error(`protocol.md:${line}: step ${step.n} is shown twice with different requests`)
    }
    step.request = request
  }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.startsWith('<!-- story:')) {
      mark = directive.exec(line.trim())
      if (!mark) throw new Error(`protocol.md:${i + 1}: unreadable story mark: ${line}`)
      markLine = i + 1
      if (mark[1] && mark[4]) {
        current = stepFor(Number(mark[1]), i + 1, mark[2])
        setRequest(current, JSON.parse(mark[4]), i + 1)
        if (mark[3]) current.server = JSON.parse(mark[3])
        mark = null
      }
      continue
    }
    if (line !== '```json') continue
    const end = lines.indexOf('```', i + 1)
    const frame = JSON.parse(lines.slice(i + 1, end).join('\n')) as Frame
    const where = i + 1
    i = end
    if (mark && markLine < where - 2) throw new Error(`protocol.md:${markLine}: a story mark must come right before its block`)
    if (mark?.[5]) {
      events.push({ after: Number(mark[5]), socket: mark[6]!, event: frame, line: where })
    } else if (mark?.[1]) {
      current = stepFor(Number(mark[1]), where, mark[2])
      if (mark[3]) current.server = JSON.parse(mark[3])
      if (frame.ok === undefined) setRequest(current, frame, where)
      else current.replies.push(frame)
    } else if (frame.ok !== undefined && !String(frame.id).startsWith('ev:') && current) {
      current.replies.push(frame)
    } else {
      throw new Error(`protocol.md:${where}: this example is not part of the story (mark it <!-- story: step N on SOCKET -->): ${JSON.stringify(frame).slice(0, 100)}`)
    }
    mark = null
  }
  for (const step of steps.values()) {
    if (!step.request) throw new Error(`protocol.md:${step.line}: step ${step.n} has no request`)
    if (!step.socket) throw new Error(`protocol.md:${step.line}: step ${step.n} names no socket`)
    if (step.replies.length === 0) throw new Error(`protocol.md:${step.line}: step ${step.n} shows no reply`)
  }
  return { steps: [...steps.values()].sort((a, b) => a.n - b.n), events }
}

/** Keys whose values differ on every run: bound to the real value at first sight, then fixed. */
const bound = new Set(['authToken', 'sudoToken', 'verificationToken', 'deviceID', 'verificationID', 'userID', 'userCode', 'deviceCode', 'providerToken', 'state'])
/** Keys that only need the documented shape. */
const times = new Set(['createdAt', 'lastSeenAt', 'at', 'expiresAt'])

export class Story {
  /** documented value → real value */
  readonly real = new Map<string, string>()
  /** real verificationID → the code that was sent for it */
  readonly codes = new Map<string, string>()

  /** Compares a documented frame with the real one; binds documented volatile values on first sight. */
  match(docValue: unknown, actual: unknown, path: string, key = ''): void {
    if (bound.has(key)) {
      assert.type(actual, 'string', `${path}: expected a string`)
      const known = this.real.get(docValue as string)
      if (known !== undefined) {
        assert.is(actual, known, `${path}: the document uses ${docValue} for ${known} elsewhere`)
        return
      }
      const shape = (s: string) => `${s.length}:${/^[0-9a-f]+$/.test(s) ? 'hex' : /^[A-Z0-9]+$/.test(s) ? 'upper' : 'base64url'}`
      assert.is(shape(actual as string), shape(docValue as string), `${path}: ${actual} does not have the shape of ${docValue}`)
      const other = [...this.real].find(([, real]) => real === actual)
      assert.not.ok(other, `${path}: the value documented as ${other?.[0]} is shown as ${docValue} here`)
      this.real.set(docValue as string, actual as string)
      return
    }
    if (times.has(key)) return assert.ok(Number.isInteger(actual), `${path}: expected an integer time, got ${actual}`)
    if (key === 'version') return assert.type(actual, 'string', `${path}`)
    // An identity provider's authorization URL: the story's provider is a local one, not the documented host.
    if (key === 'url') return assert.ok(typeof actual === 'string' && /^https?:\/\//.test(actual), `${path}: expected a URL, got ${actual}`)
    if (key === 'types') {
      const missing = (docValue as string[]).filter((type) => !(actual as string[]).includes(type))
      return assert.equal(missing, [], `${path}: types the server does not list`)
    }
    if (Array.isArray(docValue)) {
      assert.ok(Array.isArray(actual) && actual.length === docValue.length, `${path}: expected ${docValue.length} items, got ${JSON.stringify(actual)}`)
      docValue.forEach((item, i) => this.match(item, (actual as unknown[])[i], `${path}/${i}`))
      return
    }
    if (docValue !== null && typeof docValue === 'object') {
      assert.ok(actual !== null && typeof actual === 'object', `${path}: expected an object, got ${JSON.stringify(actual)}`)
      assert.equal(Object.keys(actual as object).sort(), Object.keys(docValue).sort(), `${path}: fields (real ${JSON.stringify(actual)})`)
      // The payload first: a raw user ID it binds is then known when the envelope's `to` repeats it.
      const entries = Object.entries(docValue).sort(([a], [b]) => Number(b === 'payload') - Number(a === 'payload'))
      for (const [k, v] of entries) this.match(v, (actual as Frame)[k], `${path}/${k}`, k)
      return
    }
    if (typeof docValue === 'string' && this.real.has(docValue)) return assert.is(actual, this.real.get(docValue), `${path}`)
    assert.is(actual, docValue, `${path}`)
  }

  /** The request with documented volatile values replaced by the real ones; a documented wrong code stays wrong. */
  prepare(request: Frame, wrongCode: boolean, n: number): Frame {
    const swap = (value: unknown, key: string): unknown => {
      if (Array.isArray(value)) return value.map((item) => swap(item, ''))
      if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swap(v, k)]))
      if (typeof value !== 'string') return value
      if (key === 'code' || key === 'ticket') return value
      if (bound.has(key) && !this.real.has(value)) throw new Error(`step ${n} uses ${key} ${value}, which no earlier step's reply showed`)
      return this.real.get(value) ?? value
    }
    const prepared = swap(request, '') as Frame
    // provider:grant's code comes from the identity provider (the examples test signs in there).
    if (typeof request.payload?.code === 'string' && request.type !== 'provider:grant') {
      const code = this.codes.get(prepared.payload.verificationID)
      if (!code) throw new Error(`step ${n}: no code was sent for verificationID ${request.payload.verificationID}`)
      prepared.payload.code = wrongCode ? code.slice(0, -1) + String((Number(code.at(-1)) + 1) % 10) : code
    }
    return prepared
  }
}

