// The schemas are the one source: types are generated from them, and they follow ajv's security advice.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateTypes, generatedPath, listMessageSchemas } from '../../scripts/gen-types.ts'
import { handlers } from '../../src/handlers/index.ts'
import { loadSchemas, schemasDir, unboundedChecks } from '../../src/schemas.ts'

test('packages/client/src/schemas.ts is exactly what the schemas generate (run `npm run gen:types`)', async () => {
  const source = await generateTypes()
  assert.ok(source === readFileSync(generatedPath, 'utf8'), 'packages/client/src/schemas.ts is stale: run npm run gen:types')
})

test('every handler has a request and a reply schema, and every request schema a handler', () => {
  const schemas = loadSchemas()
  const handled = handlers.map((h) => h.type).sort()
  assert.equal(schemas.typesWith('request').sort(), handled)
  assert.equal(schemas.typesWith('reply').sort(), handled)
})

type Node = Record<string, unknown>

function walk(node: unknown, path: string, visit: (node: Node, path: string) => void): void {
  if (Array.isArray(node)) return node.forEach((child, i) => walk(child, `${path}/${i}`, visit))
  if (typeof node !== 'object' || node === null) return
  visit(node as Node, path)
  for (const [key, child] of Object.entries(node)) walk(child, `${path}/${key}`, visit)
}

const allSchemaFiles = () => ['envelope.json', 'defs.json', 'config.json', ...listMessageSchemas().map((s) => s.file.slice(schemasDir.length))]

test('every pattern- or format-checked string has a maxLength (ajv security advice; extensions are held to it too)', () => {
  for (const file of allSchemaFiles()) {
    assert.equal(unboundedChecks(JSON.parse(readFileSync(schemasDir + file, 'utf8')), file), [])
  }
  assert.equal(unboundedChecks({ properties: { a: { type: 'string', pattern: 'x' }, b: { format: 'email', maxLength: 9 }, c: { uniqueItems: true } } }), [
    '/properties/a: a pattern without maxLength',
    '/properties/c: uniqueItems without maxItems',
  ])
})

test('every object in a message schema is closed, so no unknown key (__proto__, constructor) reaches a handler', () => {
  for (const file of ['envelope.json', 'defs.json', ...listMessageSchemas().map((s) => s.file.slice(schemasDir.length))]) {
    walk(JSON.parse(readFileSync(schemasDir + file, 'utf8')), file, (node, path) => {
      const isObject = node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object'))
      if (!isObject || path.endsWith('/payload') || path.endsWith('envelope.json')) return
      const closed = node.additionalProperties === false || (node.propertyNames as Node | undefined)?.not !== undefined
      assert.ok(closed, `${path} accepts unknown keys`)
    })
  }
})

test.run()
