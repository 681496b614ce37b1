// parseEnvelope (src/router/parse-envelope.ts): the same value as JSON.parse for every frame, valid or not,
// and a short id that V8 does not put in its string table.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseEnvelope } from '../../src/router/parse-envelope.ts'

const parses = (raw: string) => {
  try {
    JSON.parse(raw)
    return true
  } catch {
    return false
  }
}

/** parseEnvelope's value or its throw, next to JSON.parse's (deepEqual also compares key order). */
function same(raw: string) {
  if (!parses(raw)) return assert.throws(() => parseEnvelope(raw), undefined, `JSON.parse throws for ${JSON.stringify(raw)}`)
  const expected = JSON.parse(raw) as unknown
  const got = parseEnvelope(raw)
  assert.equal(got, expected, `for ${JSON.stringify(raw)}`)
  if (expected !== null && typeof expected === 'object') assert.equal(Object.keys(got as object), Object.keys(expected), `key order for ${JSON.stringify(raw)}`)
}

test('frames written the usual way, and the edges where the id is left to JSON.parse', () => {
  for (const raw of [
    '{"id":"1","type":"server:ping","to":"localhost","payload":{}}',
    '{"id":"abcd","type":"profile:login","to":"cadmium.org","payload":{"username":"a","password":"b"}}',
    '{"id":"","type":"server:ping","payload":{}}',
    '{"id":"abcdefghij","type":"x"}',
    '{"id":"abcdefghijk","type":"x"}', // longer than V8 internalizes
    '{"id":"a"}',
    '{"id":"a"  ,  "type" : "x" }',
    '{"id":"ä€😀","type":"x"}',
    '{"id":"a\\"b","type":"x"}', // an escaped quote: the first quote found is not the end
    '{"id":"a\\\\","type":"x"}', // an escaped backslash right before the closing quote
    '{"id":"a\\u0062","type":"x"}',
    '{"id":"a\tb","type":"x"}', // a raw control character: JSON.parse refuses it
    '{"id":"a\nb"}',
    '{"id":"a","id":"b"}', // the later key wins
    '{"id":"a","id":0}',
    '{"id":"a","payload":{"id":"inner"}}',
    '{"id":"a","\\u0069d":"b"}',
    '{"id":"a","text":"\\u00e9"}',
    '{"id":"a","__proto__":{"x":1}}',
    '{"id":"a",}', // trailing comma: invalid either way
    '{"id":"a".5}', // what may follow a number after the id: invalid, as after the string it was
    '{"id":"a"e5}',
    '{"id":"a"E+1,"type":"x"}',
    '{"id":"a"null}',
    '{"id":"a"',
    '{"id":"a',
    '{"id":"a"}x',
    '{"id":"a"} ',
    '{"id":"a""type":"x"}',
    '{"id":"a",,"type":"x"}',
    '{"id" :"a","type":"x"}',
    ' {"id":"a"}',
    '{"type":"x","id":"a"}',
    '[]',
    'null',
    '"{\\"id\\":\\"a\\"}"',
    '',
  ]) {
    same(raw)
  }
})

test('every one to three characters after the id\'s closing quote parse as JSON.parse parses them', () => {
  const alphabet = [...'.eE10-+},: "a:n\\[]{u\t']
  for (const a of alphabet) {
    same(`{"id":"a"${a}`)
    for (const b of alphabet) {
      same(`{"id":"a"${a}${b}`)
      for (const c of alphabet) same(`{"id":"a"${a}${b}${c}`)
    }
  }
})

test('random frames: every prefix of a frame, and frames with characters changed, parse as JSON.parse parses them', () => {
  const pieces = ['"', '\\', ',', '}', '{', ':', '0', '.5', 'e', 'a', ' ', '\n', 'id', '"id"', '\\u0069', '[', ']', 'é', 'null']
  // mulberry32: every piece and position gets drawn (an LCG past 2^53 lost its low bits and drew '"' nearly always).
  let seed = 7
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n | 0
  }
  const frames = ['{"id":"q1w2","type":"profile:get","to":"localhost","payload":{"userID":"@u1@localhost"}}', '{"id":"7","type":"chat:send","payload":{"text":"hi \\"you\\"\\n"}}']
  for (const frame of frames) for (let i = 0; i <= frame.length; i++) same(frame.slice(0, i))
  const seen = new Set<string>()
  let valid = 0
  for (let n = 0; n < 5000; n++) {
    const chars = [...frames[n % 2]!]
    for (let k = 1 + random(3); k > 0; k--) chars.splice(random(chars.length), random(2), pieces[random(pieces.length)]!)
    const raw = chars.join('')
    seen.add(raw)
    same(raw)
    if ((raw.startsWith('{"id":"q1w2"') || raw.startsWith('{"id":"7"')) && parses(raw)) valid++
  }
  // Not vacuous: mostly different frames, and many of them valid ones that take the cut-out path.
  assert.ok(seen.size > 4500, `${seen.size} distinct frames`)
  assert.ok(valid > 500, `${valid} valid frames starting with the id`)
})

test('a short id stays out of V8\'s string table, where JSON.parse puts it', () => {
  const module = fileURLToPath(new URL('../../src/router/parse-envelope.ts', import.meta.url))
  const code = `
    const { parseEnvelope } = await import(${JSON.stringify(module)})
    const raw = '{"id":"k' + Math.random().toString(36).slice(2, 8) + '","type":"server:ping","payload":{}}'
    console.log(JSON.stringify({ parsed: %IsInternalizedString(JSON.parse(raw).id), envelope: %IsInternalizedString(parseEnvelope(raw).id) }))`
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 })
  assert.is(run.status, 0, run.stderr)
  assert.equal(JSON.parse(run.stdout), { parsed: true, envelope: false })
})

test.run()
