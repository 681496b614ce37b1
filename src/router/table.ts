// The routing table: every type's handler, its payload validator and its name as JSON, checked at start.
import type { AnyHandler } from '../handler.ts'
import type { Schemas } from '../schemas.ts'
import type { ExtensionRoute } from '../extensions/handlers.ts'

/** A routed type: its handler, its payload's validator, and the type as a JSON string (written into every reply). */
export interface Entry {
  handler: AnyHandler
  validate: NonNullable<ReturnType<Schemas['validatorFor']>>
  json: string
}

/**
 * Refuses to start on a duplicate type, a handler without schemas, or a request schema without a handler.
 * Extension types bring their own compiled payload schema and no reply schema.
 */
export function buildTable(handlers: readonly AnyHandler[], schemas: Schemas, extensions: readonly ExtensionRoute[]) {
  const table = new Map<string, Entry>()
  for (const handler of handlers) {
    if (table.has(handler.type)) throw new Error(`two handlers for ${handler.type}`)
    const validate = schemas.validatorFor(handler.type, 'request')
    if (!validate) throw new Error(`handler ${handler.type} has no schema ${handler.type.replace(':', '/')}.json`)
    if (!schemas.validatorFor(handler.type, 'reply')) throw new Error(`handler ${handler.type} has no reply schema`)
    table.set(handler.type, { handler, validate, json: JSON.stringify(handler.type) })
  }
  for (const type of schemas.typesWith('request')) {
    if (!table.has(type)) throw new Error(`schema for ${type} has no handler`)
  }
  for (const { handler, validate } of extensions) {
    if (table.has(handler.type)) throw new Error(`two handlers for ${handler.type}`)
    table.set(handler.type, { handler, validate, json: JSON.stringify(handler.type) })
  }
  return table
}
