// TypeScript for extension authors: payload types come from the schema literal, so a typo does not compile.
// Compiles in-memory sources as if they sat in test/extensions/ and imported 'hafnium' (mapped to src/).
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import ts from 'typescript'

const root = fileURLToPath(new URL('../../', import.meta.url))

const extension = (body: string) => `import { defineExtension, defineType } from 'hafnium'

export default defineExtension({
  types: {
    'chat:send': defineType({
      auth: 'required',
      schema: {
        type: 'object',
        properties: { to: { type: 'string', maxLength: 200 }, text: { type: 'string', maxLength: 4000 } },
        required: ['to', 'text'],
        additionalProperties: false,
      },
      async handle({ payload, user, notify }) {
${body}
      },
    }),
    'chat:plain': { auth: 'none', schema: { type: 'object' }, handle: ({ payload }) => ({ keys: Object.keys(payload) }) },
  },
})
`

const client = `import type { MessagesOf } from 'hafnium'
import type { HafniumClient } from 'hafnium/client'
import chat from './right.ts'

declare module 'hafnium/client' {
  interface ExtensionMessages extends MessagesOf<typeof chat> {}
  interface ExtensionEvents {
    'chat:message': { from: string; text: string }
  }
}

export async function use(client: HafniumClient) {
  const reply = await client.request('chat:send', { to: '@romeo@localhost', text: 'hi' })
  const reached: number = reply.reached
  client.on('chat:message', (payload) => {
    const from: string = payload.from
  })
  return reached
}
`

/** Every case in one program (creating one costs seconds); each file's diagnostics as "line: message". */
const sources: Record<string, string> = {
  'right.ts': extension(`        const text: string = payload.text
        const from: string = user.userID
        const reached: number = await notify(payload.to, 'chat:message', { from, text })
        return { reached }`),
  'typo.ts': extension('        return { length: payload.txet.length }'),
  'wrong-type.ts': extension('        const n: number = payload.text\n        return { n }'),
  'string-reply.ts': extension("        return 'sent'"),
  'anonymous.ts': `import { defineType } from 'hafnium'
export const t = defineType({ auth: 'none', schema: { type: 'object' }, handle: ({ user }) => ({ id: user.userID }) })
`,
  'notify-fake.ts': `import type { ExtensionContext, Notify } from 'hafnium'
export const fake: Notify = async (userID: string, type: string) => userID.length + type.length
export const context: Pick<ExtensionContext, 'notify'> = { notify: async (userID: string) => userID.length }
`,
  'client-right.ts': client,
  'client-typo.ts': client.replace("text: 'hi'", "txet: 'hi'").replace('payload.from', 'payload.form'),
}
let diagnostics: Map<string, string[]>

test.before(() => {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    types: ['node'],
    baseUrl: root,
    paths: { hafnium: ['src/index.ts'], 'hafnium/client': ['src/client/index.ts'] },
  }
  const dir = join(root, 'test/extensions/virtual')
  const virtual = new Map(Object.entries(sources).map(([name, text]) => [join(dir, name), text]))
  const host = ts.createCompilerHost(options)
  const { getSourceFile, fileExists, readFile } = host
  host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name)
  host.readFile = (name) => virtual.get(name) ?? readFile.call(host, name)
  const { directoryExists } = host
  host.directoryExists = (name) => name === dir || (directoryExists?.call(host, name) ?? true)
  host.getSourceFile = (name, language, ...rest) => {
    const text = virtual.get(name)
    return text !== undefined ? ts.createSourceFile(name, text, language) : getSourceFile.call(host, name, language, ...rest)
  }
  const program = ts.createProgram([...virtual.keys()], options, host)
  diagnostics = new Map()
  // Only the virtual files are checked (checking all of src/ would take most of a minute here).
  for (const name of Object.keys(sources)) {
    const file = program.getSourceFile(join(dir, name))!
    const found = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]
    diagnostics.set(name, found.map((d) => `${file.getLineAndCharacterOfPosition(d.start!).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`))
  }
})

const of = (name: string) => diagnostics.get(name)!.join('\n')

test('a correct extension compiles: payload fields typed from the schema, user non-null when auth is required', () => {
  assert.is(of('right.ts'), '')
})

test("a stand-in for notify written for one user ID (a test's fake) still type-checks beside the list form", () => {
  assert.is(of('notify-fake.ts'), '')
})

test('payload.txet does not compile', () => {
  assert.equal(diagnostics.get('typo.ts'), ["14: Property 'txet' does not exist on type '{ to: string; text: string; }'."])
})

test('a wrong field type, a reply that is not an object, and user possibly null under auth none do not compile', () => {
  assert.match(of('wrong-type.ts'), /Type 'string' is not assignable to type 'number'/)
  assert.ok(of('string-reply.ts') !== '', 'a string reply is refused')
  assert.match(of('anonymous.ts'), /'user' is possibly 'null'/)
})

test('the client library is typed for extension types through module augmentation', () => {
  assert.is(of('client-right.ts'), '')
  assert.match(of('client-typo.ts'), /'txet' does not exist/)
  assert.match(of('client-typo.ts'), /Property 'form' does not exist/)
})

test.run()
