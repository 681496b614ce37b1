// Extension modules for tests, written to a temporary folder as plain JavaScript (the server imports them).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function extensionDir(): { dir: string; write(name: string, source: string): string } {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-ext-'))
  return {
    dir,
    write(name, source) {
      const path = join(dir, name)
      writeFileSync(path, source)
      return path
    },
  }
}

/** A small extension exercising the handler context: echo, who am I, notify, refusals and failures. */
export const probeExtension = `
let lastLog
export default {
  types: {
    'probe:echo': {
      auth: 'none',
      schema: { type: 'object', properties: { text: { type: 'string', maxLength: 20 } }, required: ['text'], additionalProperties: false },
      async handle({ payload, user, type, requestID }) { return { text: payload.text, user, type, requestID } },
    },
    'probe:whoami': {
      auth: 'required',
      schema: { type: 'object', additionalProperties: false },
      handle: ({ user }) => ({ user }),
    },
    'probe:notify': {
      auth: 'required',
      schema: {
        type: 'object',
        properties: {
          to: { anyOf: [{ type: 'string', maxLength: 200 }, { type: 'array', maxItems: 8, items: { type: 'string', maxLength: 200 } }] },
          type: { type: 'string', maxLength: 200 },
          pad: { type: 'integer', minimum: 0, maximum: 2_000_000 },
          badList: { enum: ['number', 'sparse', 'long'] },
        },
        required: ['to'],
        additionalProperties: false,
      },
      async handle({ payload, user, notify }) {
        // pad: that many characters more in the event (the size limit of events).
        const event = payload.pad === undefined ? { from: user.userID } : { from: user.userID, pad: 'x'.repeat(payload.pad) }
        // badList: a list of users with something else than a user ID in it, with holes, or over the limit.
        const to =
          payload.badList === 'number' ? [payload.to, 42]
          : payload.badList === 'sparse' ? Object.assign(new Array(20), { 0: payload.to })
          : payload.badList === 'long' ? Array.from({ length: 1001 }, () => payload.to)
          : payload.to
        const reached = await notify(to, payload.type ?? 'probe:poke', event)
        return { reached }
      },
    },
    'probe:refuse': {
      auth: 'none',
      schema: { type: 'object', properties: { how: { enum: ['plain', 'full', 'error_with_id', 'bad_id', 'string', 'nothing', 'array', 'log'] } }, required: ['how'], additionalProperties: false },
      async handle({ payload, log }) {
        switch (payload.how) {
          case 'plain': throw { errID: 'not_found' }
          case 'full': throw { errID: 'too_late', errText: 'That was yesterday', errPayload: { at: 1 } }
          case 'error_with_id': throw Object.assign(new Error('gone'), { errID: 'gone' })
          case 'bad_id': throw { errID: 'Not-Valid', errText: 'secret detail' }
          case 'string': throw 'secret string'
          case 'nothing': return undefined
          case 'array': return [1, 2]
          case 'log': log.warn('probe log line'); return {}
        }
      },
    },
    'probe:slow': {
      auth: 'none',
      schema: { type: 'object', properties: { ms: { type: 'integer', minimum: 0, maximum: 2000 } }, required: ['ms'], additionalProperties: false },
      handle: ({ payload }) => new Promise((resolve) => setTimeout(() => resolve({ slept: payload.ms }), payload.ms)),
    },
    'probe:crash': {
      auth: 'none',
      schema: { type: 'object' },
      async handle() { throw new Error('secret database path /var/lib/x') },
    },
  },
}
`
