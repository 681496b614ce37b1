// Validates whole replies in tests against the envelope shape and the type's reply/event schema.
import * as assert from 'uvu/assert'
import { formatErrors, loadSchemas } from '../../src/schemas.ts'
import type { Reply } from './client.ts'

const schemas = loadSchemas()

export function assertValidReply(type: string, reply: Reply, kind: 'reply' | 'event' = 'reply'): void {
  assert.is(reply.type, type)
  assert.is(reply.ok, true, JSON.stringify(reply.payload))
  const validate = schemas.validatorFor(type, kind)
  assert.ok(validate, `no ${kind} schema for ${type}`)
  assert.ok(validate(reply.payload), `${type} ${kind} breaks its schema: ${JSON.stringify(formatErrors(validate.errors))}`)
}
