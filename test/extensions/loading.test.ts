// Extension loading: what stops start-up (naming the module and type), config paths, and rate-limit rules naming extension types.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ExtensionError } from '../../src/extensions/load.ts'
import { ConfigError } from '../../src/config.ts'
import { errors } from '../../src/errors.ts'
import { startTestServer } from '../support/server.ts'
import { runCli } from '../support/process.ts'
import { within } from '../support/within.ts'
import { connect } from '../support/client.ts'
import { extensionDir, probeExtension } from './support.ts'

const one = (type: string, schema = "{ type: 'object' }", auth = "'none'") =>
  `export default { types: { '${type}': { auth: ${auth}, schema: ${schema}, handle: () => ({}) } } }\n`

/** startTestServer must refuse; returns the error's message. */
async function refused(extensions: string[], extra: object = {}): Promise<string> {
  try {
    const t = await startTestServer({ extensions, ...extra })
    await t.close()
  } catch (error) {
    return (error as Error).message
  }
  throw assert.unreachable('the server started')
}

test('a missing module stops start-up naming it', async () => {
  const { dir } = extensionDir()
  const path = join(dir, 'nope.mjs')
  const message = await refused([path])
  assert.is(message, `extension ${path}: cannot load: no such file`)
})

test('a module with a syntax error stops start-up naming it', async () => {
  const path = extensionDir().write('broken.mjs', 'export default { types: { ')
  const message = await refused([path])
  assert.ok(message.startsWith(`extension ${path}: cannot load: SyntaxError`), message)
})

test('a module without a default export, or without types, stops start-up', async () => {
  const ext = extensionDir()
  const none = ext.write('none.mjs', 'export const types = {}\n')
  assert.ok((await refused([none])).includes(`extension ${none}: has no default export`))
  const empty = ext.write('empty.mjs', 'export default { types: {} }\n')
  assert.ok((await refused([empty])).includes(`extension ${empty}: its default export has no "types"`))
})

test('a type colliding with profile:login stops start-up naming the module and the type', async () => {
  const path = extensionDir().write('login.mjs', one('profile:login'))
  assert.is(await refused([path]), `extension ${path}: type profile:login: collides with the built-in type profile:login`)
})

test('two modules defining one type stop start-up naming both', async () => {
  const ext = extensionDir()
  const a = ext.write('a.mjs', one('chat:send'))
  const b = ext.write('b.mjs', one('chat:send'))
  assert.is(await refused([a, b]), `extension ${b}: type chat:send: is also defined by extension ${a}`)
})

test('types in the server\'s namespaces or without a namespace are refused', async () => {
  const ext = extensionDir()
  for (const type of ['profile:poke', 'device:x', 'verification:y', 'server:z', 'poke', 'Chat:Send']) {
    const path = ext.write(`${type.replace(':', '_')}.mjs`, one(type))
    const message = await refused([path])
    assert.match(message, new RegExp(`^extension ${path}: type ${type}: is (in the server's own namespace|not "namespace:name")`))
  }
})

test('an unbounded pattern or format in an extension schema stops start-up naming the type', async () => {
  const ext = extensionDir()
  const pattern = ext.write('pattern.mjs', one('chat:send', "{ type: 'object', properties: { text: { type: 'string', pattern: '^(a+)+$' } } }"))
  assert.is(
    await refused([pattern]),
    `extension ${pattern}: type chat:send: schema is refused (ajv security advice): /properties/text: a pattern without maxLength`,
  )
  const format = ext.write('format.mjs', one('chat:mail', "{ type: 'object', properties: { to: { type: 'string', format: 'email' } } }"))
  assert.ok((await refused([format])).includes('type chat:mail: schema is refused (ajv security advice): /properties/to: a format without maxLength'))
})

test('a schema ajv refuses in strict mode, a bad auth or a missing handle stop start-up', async () => {
  const ext = extensionDir()
  const strict = ext.write('strict.mjs', one('chat:a', "{ type: 'object', properties: { x: { type: 'strnig' } } }"))
  assert.ok((await refused([strict])).startsWith(`extension ${strict}: type chat:a: invalid schema:`))
  const unknownKeyword = ext.write('kw.mjs', one('chat:b', "{ type: 'object', maxLenght: 3 }"))
  assert.ok((await refused([unknownKeyword])).includes('type chat:b: invalid schema: strict mode: unknown keyword: "maxLenght"'))
  const auth = ext.write('auth.mjs', one('chat:c', "{ type: 'object' }", "'sometimes'"))
  assert.ok((await refused([auth])).includes('type chat:c: auth must be "none" or "required"'))
  const async = ext.write('async.mjs', one('chat:e', "{ $async: true, type: 'object' }"))
  assert.ok((await refused([async])).includes('type chat:e: invalid schema: $async schemas are not supported'))
  const noHandle = ext.write('nohandle.mjs', "export default { types: { 'chat:d': { auth: 'none', schema: {} } } }\n")
  assert.ok((await refused([noHandle])).includes('type chat:d: handle must be a function'))
})

test('start runs before the server listens and close after it closed; a failing start stops start-up naming the module', async () => {
  const ext = extensionDir()
  const hooks = (globalThis as { hafniumTestHooks?: string[] })
  hooks.hafniumTestHooks = []
  const source = (fail: boolean) => `export default {
  types: { 'hooks:ping': { auth: 'none', schema: { type: 'object' }, handle: () => ({}) } },
  start({ log }) { if (typeof log.info !== 'function') throw new Error('no log'); ${fail ? "throw new Error('database locked')" : "globalThis.hafniumTestHooks.push('start')"} },
  close() { globalThis.hafniumTestHooks.push('close') },
}\n`
  const good = ext.write('good.mjs', source(false))
  const t = await startTestServer({ extensions: [good] })
  assert.equal(hooks.hafniumTestHooks, ['start'])
  await t.close()
  assert.equal(hooks.hafniumTestHooks, ['start', 'close'])

  hooks.hafniumTestHooks = []
  const bad = ext.write('bad.mjs', source(true).replace('hooks:ping', 'hooks:pong'))
  assert.is(await refused([good, bad]), `extension ${bad}: start failed: Error: database locked`)
  assert.equal(hooks.hafniumTestHooks, ['start', 'close'], 'the module started before it was closed again')
})

test('a TypeScript module outside any package (compiled to CommonJS) loads; its default export is found', async () => {
  const path = extensionDir().write(
    'plain.ts',
    "const schema: object = { type: 'object' }\nexport default { types: { 'plain:ping': { auth: 'none' as const, schema, handle: (): object => ({ pong: true }) } } }\n",
  )
  const t = await startTestServer({ extensions: [path] })
  try {
    const reply = await within((await t.connect()).request('plain:ping', {}), 5000, 'the reply to plain:ping')
    assert.equal([reply.ok, reply.payload], [true, { pong: true }])
  } finally {
    await t.close()
  }
})

test('errors are ExtensionErrors', async () => {
  const { dir } = extensionDir()
  try {
    await startTestServer({ extensions: [join(dir, 'missing.mjs')] })
    assert.unreachable('started')
  } catch (error) {
    assert.instance(error, ExtensionError)
  }
})

test('rate-limit rules can name extension types; a rule naming a type nobody serves stops start-up', async () => {
  const path = extensionDir().write('probe.mjs', probeExtension)
  const rules = { echo_user: { subject: 'connection' as const, types: ['probe:echo'], capacity: 2, refillPerSecond: 0.001 } }
  const t = await startTestServer({ extensions: [path], ratelimit: { enabled: true, rules } })
  try {
    const c = await t.connect()
    const ask = () => within(c.request('probe:echo', { text: 'x' }), 5000, 'the reply to probe:echo')
    assert.is((await ask()).ok, true)
    assert.is((await ask()).ok, true)
    const limited = await ask()
    assert.is(limited.payload.errID, 'ratelimit_exceed')
    assert.equal(limited.payload.errText, errors.ratelimit_exceed)
    assert.ok(limited.payload.errPayload.retryAfter > 0)
  } finally {
    await t.close()
  }
  const typo = { oops: { subject: 'ip' as const, types: ['probe:ehco'], capacity: 2, refillPerSecond: 1 } }
  try {
    await startTestServer({ extensions: [path], ratelimit: { enabled: true, rules: typo } })
    assert.unreachable('started')
  } catch (error) {
    assert.instance(error, ConfigError)
    assert.is((error as Error).message, 'config: ratelimit.rules.oops.types: no handler or extension serves the type "probe:ehco"')
  }
})

test('hafnium serve: paths are relative to the config file; a broken extension exits 1 with one line naming it', async () => {
  const ext = extensionDir()
  ext.write('probe.mjs', probeExtension)
  const config = join(ext.dir, 'server.config.json')
  const base = { server: { port: 0 }, database: { path: join(ext.dir, 'h.db') }, log: { level: 'silent' } }
  writeFileSync(config, JSON.stringify({ ...base, extensions: ['./probe.mjs'] }))
  const good = runCli(['serve', '--config', config])
  try {
    const url = await within(good.ready, 20_000, 'the server with a relative extension path to listen')
    const c = await within(connect(url), 5000, 'a connection')
    assert.is((await within(c.request('probe:echo', { text: 'relative' }), 5000, 'probe:echo')).payload.text, 'relative')
    c.terminate()
  } finally {
    good.child.kill('SIGTERM')
  }
  assert.is((await within(good.exited, 10_000, 'the server to exit')).code, 0)

  writeFileSync(config, JSON.stringify({ ...base, extensions: ['./login.mjs'] }))
  ext.write('login.mjs', one('profile:login'))
  const bad = await within(runCli(['serve', '--config', config]).exited, 20_000, 'serve with a colliding extension to exit')
  assert.is(bad.code, 1)
  assert.is(bad.stderr, `hafnium serve: extension ${join(ext.dir, 'login.mjs')}: type profile:login: collides with the built-in type profile:login\n`)
})

test.run()
