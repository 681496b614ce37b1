// Events as NOTIFY payloads: "node|sequence|index|count|json", split when the JSON is too large for one.
import type { NodeEvent } from './bus.ts'

export interface Fragment {
  node: string
  sequence: number
  index: number
  count: number
  body: string
}

/**
 * PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. Bodies are cut at 2,600 UTF-16 units: at
 * most 3 UTF-8 bytes each (a surrogate pair is 4 bytes for 2 units), so ≤ 7,800 bytes with the header.
 */
const maxUnits = 2600
const maxSingleBytes = 7900

/** Events larger than this are refused where they are published (extensions' notify): 1 MiB of JSON. */
export const maxEventBytes = 1 << 20

export function encodeEvent(node: string, sequence: number, event: NodeEvent): string[] {
  const json = JSON.stringify(event)
  const head = `${node}|${sequence}|`
  if (Buffer.byteLength(json) + head.length + 8 <= maxSingleBytes) return [`${head}0|1|${json}`]
  const bodies: string[] = []
  for (let at = 0; at < json.length; ) {
    let end = Math.min(json.length, at + maxUnits)
    // Never split a surrogate pair: a lone half cannot be encoded as UTF-8.
    const last = json.charCodeAt(end - 1)
    if (end < json.length && last >= 0xd800 && last <= 0xdbff) end--
    bodies.push(json.slice(at, end))
    at = end
  }
  return bodies.map((body, index) => `${head}${index}|${bodies.length}|${body}`)
}

export function decodeFragment(payload: string): Fragment | undefined {
  const parts: string[] = []
  let at = 0
  for (let i = 0; i < 4; i++) {
    const bar = payload.indexOf('|', at)
    if (bar < 0) return undefined
    parts.push(payload.slice(at, bar))
    at = bar + 1
  }
  const [node, sequence, index, count] = parts as [string, string, string, string]
  const numbers = [Number(sequence), Number(index), Number(count)]
  if (!node || numbers.some((n) => !Number.isSafeInteger(n) || n < 0) || numbers[1]! >= numbers[2]!) return undefined
  return { node, sequence: numbers[0]!, index: numbers[1]!, count: numbers[2]!, body: payload.slice(at) }
}
