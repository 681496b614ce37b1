// One Ajv instance: loads every schema under schemas/ at boot and hands out compiled validators.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

export const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url))
const baseURI = 'https://hafnium.invalid/schemas/'

export type MessageKind = 'request' | 'reply' | 'event'

export interface FieldError {
  path: string
  message: string
}

export interface Schemas {
  envelope: ValidateFunction
  config: ValidateFunction
  /** Validator of a type's request/reply/event payload, if its schema exists. */
  validatorFor(type: string, kind: MessageKind): ValidateFunction | undefined
  /** Message types that have a schema of that kind. */
  typesWith(kind: MessageKind): string[]
}

const loaded = new Map<string, Schemas>()

/**
 * Reads schemas/ and compiles them once per process (config loading and the server both ask; compiling is
 * most of start-up), so a running server never compiles a schema. Validators are used synchronously and
 * their .errors read at once, so sharing them between servers in one process is safe.
 */
export function loadSchemas(dir = schemasDir): Schemas {
  let schemas = loaded.get(dir)
  if (!schemas) loaded.set(dir, (schemas = compileSchemas(dir)))
  return schemas
}

/** An Ajv with the settings every payload schema is compiled with, built-in or extension. */
export function createAjv(): Ajv {
  // allErrors stays off: ajv's security advice for untrusted input (the error list is then one entry).
  // strictRequired off: "one of username/thirdPID/loginID" is a oneOf of required lists naming parent properties.
  const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: false, allowUnionTypes: true })
  addFormats(ajv)
  return ajv
}

/**
 * JSON pointers of strings checked by a pattern or format without a maxLength, and of uniqueItems without
 * maxItems: ajv's security advice (a regex or an O(n²) check on unbounded input is a DoS).
 */
export function unboundedChecks(schema: unknown, path = ''): string[] {
  const found: string[] = []
  const walk = (node: unknown, at: string) => {
    if (Array.isArray(node)) return node.forEach((child, i) => walk(child, `${at}/${i}`))
    if (typeof node !== 'object' || node === null) return
    const n = node as Record<string, unknown>
    if ((typeof n.pattern === 'string' || typeof n.format === 'string') && n.maxLength === undefined) found.push(`${at || '/'}: a ${typeof n.pattern === 'string' ? 'pattern' : 'format'} without maxLength`)
    if (n.uniqueItems === true && n.maxItems === undefined) found.push(`${at || '/'}: uniqueItems without maxItems`)
    for (const [key, child] of Object.entries(n)) walk(child, `${at}/${key}`)
  }
  walk(schema, path)
  return found
}

function compileSchemas(dir: string): Schemas {
  const ajv = createAjv()
  const byKey = new Map<string, ValidateFunction>()
  const files = listSchemaFiles(dir)
  for (const file of files) ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')))
  for (const file of files) {
    const match = /^([a-z_]+)\/([a-z_]+)(?:\.(reply|event))?\.json$/.exec(file)
    if (!match) continue
    const validate = ajv.getSchema(baseURI + file)
    if (!validate) throw new Error(`schema ${file} has no $id ${baseURI + file}`)
    byKey.set(`${match[1]}:${match[2]}/${match[3] ?? 'request'}`, validate)
  }
  const mustGet = (file: string) => {
    const validate = ajv.getSchema(baseURI + file)
    if (!validate) throw new Error(`missing schema ${file}`)
    return validate
  }
  return {
    envelope: mustGet('envelope.json'),
    config: mustGet('config.json'),
    validatorFor: (type, kind) => byKey.get(`${type}/${kind}`),
    typesWith: (kind) => [...byKey.keys()].filter((k) => k.endsWith(`/${kind}`)).map((k) => k.slice(0, k.lastIndexOf('/'))),
  }
}

function listSchemaFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.split('\\').join('/'))
    .sort()
}

/** ajv's errors as {path, message} with JSON-pointer paths (an error about a missing or extra key names that key). */
export function formatErrors(errors: ErrorObject[] | null | undefined, prefix = ''): FieldError[] {
  return (errors ?? []).slice(0, 10).map((e) => {
    let path = e.instancePath
    if (e.keyword === 'required') path += '/' + escapePointer(String(e.params.missingProperty))
    else if (e.keyword === 'additionalProperties') path += '/' + escapePointer(String(e.params.additionalProperty))
    return { path: prefix + path, message: e.message ?? 'is invalid' }
  })
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}
