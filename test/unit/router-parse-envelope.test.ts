// parseEnvelope (src/router/parse-envelope.ts): the same value as JSON.parse for every frame, valid or not,
// and a short id that V8 does not put in its string table.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseEnvelope } from '../../src/router/parse-envelope.ts'

/** parseEnvelope's value or its throw, next to JSON.parse's (deepEqual also compares key order). */
function same(raw: string) {
  let expected: unknown
  let threw = false
  try {
    expected = JSON.parse(raw)
  } catch {
    threw = true
  }
  if (threw) return assert.throws(() => parseEnvelope(raw), undefined, `JSON.parse throws for ${JSON.stringify(raw)}`)
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

test('random frames: every prefix of a frame, and frames with characters changed, parse as JSON.parse parses them', () => {
  const pieces = ['"', '\\', ',', '}', '{', ':', '0', 'a', ' ', '\n', 'id', '"id"', '\\u0069', '[', ']', 'é']
  let seed = 7
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
  const frames = ['{"id":"q1w2","type":"profile:get","to":"localhost","payload":{"userID":"@u1@localhost"}}', '{"id":"7","type":"chat:send","payload":{"text":"hi \\"you\\"\\n"}}']
  for (const frame of frames) for (let i = 0; i <= frame.length; i++) same(frame.slice(0, i))
  for (let n = 0; n < 5000; n++) {
    const chars = [...frames[n % 2]!]
    for (let k = 1 + random(3); k > 0; k--) chars.splice(random(chars.length), random(2), pieces[random(pieces.length)]!)
    same(chars.join(''))
  }
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
