// protocol.md cannot drift: its examples validate against the schemas; its types and errIDs match the code both ways.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../src/errors.ts'
import { handlers } from '../../src/handlers/index.ts'
import { formatErrors, loadSchemas } from '../../src/schemas.ts'

const doc = readFileSync(new URL('../../protocol.md', import.meta.url), 'utf8')
const schemas = loadSchemas()
const eventTypes = schemas.typesWith('event')

/** Each `## ns:verb` section with its body. */
function sections(): Map<string, string> {
  const found = new Map<string, string>()
  const parts = doc.split(/^## /m).slice(1)
  for (const part of parts) {
    const title = part.slice(0, part.indexOf('\n')).trim()
    if (/^[a-z_]+:[a-z_]+$/.test(title)) found.set(title, part)
  }
  return found
}

function jsonBlocks(text: string): unknown[] {
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m, i) => {
    try {
      return JSON.parse(m[1]!)
    } catch (error) {
      throw new Error(`JSON example #${i + 1} does not parse: ${(error as Error).message}\n${m[1]}`)
    }
  })
}

test('every JSON example is a valid request, reply, error or event of its type', () => {
  let checked = 0
  for (const block of jsonBlocks(doc)) {
    const frame = block as { id: string; type: string; ok?: boolean; payload: { errID?: string } }
    const label = JSON.stringify(frame).slice(0, 120)
    if (frame.ok === undefined) {
      assert.ok(schemas.envelope(frame), `request envelope ${label}: ${JSON.stringify(formatErrors(schemas.envelope.errors))}`)
      const validate = schemas.validatorFor(frame.type, 'request')
      assert.ok(validate, `no request schema for ${frame.type}`)
      assert.ok(validate(frame.payload), `request ${label}: ${JSON.stringify(formatErrors(validate.errors))}`)
    } else if (frame.ok === false) {
      assert.ok(frame.payload.errID! in errors, `${label}: unknown errID ${frame.payload.errID}`)
    } else {
      const kind = frame.id.startsWith('ev:') ? 'event' : 'reply'
      const validate = schemas.validatorFor(frame.type, kind)
      assert.ok(validate, `no ${kind} schema for ${frame.type}`)
      assert.ok(validate(frame.payload), `${kind} ${label}: ${JSON.stringify(formatErrors(validate.errors))}`)
    }
    checked++
  }
  assert.ok(checked >= handlers.length * 2, `only ${checked} examples`)
})

test('every handled type and event has a section, and every section is a handled type or event', () => {
  const documented = [...sections().keys()].sort()
  const served = [...handlers.map((h) => h.type), ...eventTypes].sort()
  assert.equal(documented, served)
})

test('every type section shows a request and its successful reply', () => {
  for (const [type, body] of sections()) {
    if (eventTypes.includes(type)) continue
    const frames = jsonBlocks(body) as { type: string; ok?: boolean }[]
    assert.ok(frames.some((f) => f.type === type && f.ok === undefined), `${type}: no request example`)
    assert.ok(frames.some((f) => f.type === type && f.ok === true), `${type}: no reply example`)
  }
})

test('the error catalogue lists exactly the errIDs of src/errors.ts', () => {
  const catalogue = doc.slice(doc.indexOf('# Error catalogue'))
  const listed = [...catalogue.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]).sort()
  assert.equal(listed, Object.keys(errors).sort())
})

/** The text outside (possibly nested) parentheses: "Errors: `a` (when `x`), `b`" → "Errors: `a` , `b`". */
function outsideParentheses(text: string): string {
  let depth = 0
  let out = ''
  for (const ch of text) {
    if (ch === '(') depth++
    else if (ch === ')') depth = Math.max(0, depth - 1)
    else if (depth === 0) out += ch
  }
  return out
}

test('every errID named in an "Errors:" line exists', () => {
  const lines = doc.split('\n').filter((l) => l.startsWith('Errors:'))
  assert.ok(lines.length >= handlers.length - 2, 'most types list their errors')
  for (const line of lines) {
    for (const [, id] of outsideParentheses(line).matchAll(/`([a-z_]+)`/g)) assert.ok(id! in errors, `unknown errID ${id} in: ${line}`)
  }
})

test.run()
