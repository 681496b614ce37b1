// `npm pack` ships what a user needs and nothing a server left in data/; the tarball runs and its types compile.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { consumerProject, packScratchCopy, root, run, type Packed } from './support.ts'

const test = suite<{ packed: Packed; consumer: string }>('npm package')

test.before(async (ctx) => {
  ctx.packed = await packScratchCopy()
  ctx.consumer = await consumerProject(ctx.packed.tarball)
})

/** Everything a user needs, by pattern; anything else in the list is a defect. */
const allowed = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^SECURITY\.md$/,
  /^protocol\.md$/,
  /^server\.config\.json$/,
  /^bin\/hafnium\.js$/,
  /^dist\/(?!test\/|bench\/|scripts\/|src\/).+\.(js|d\.ts)$/,
  /^schemas\/.+\.json$/,
  /^data\/(README\.md|common-passwords\.txt)$/,
  /^deploy\/[^/]+$/,
  /^migrations\/(sqlite|postgres)\/\d{3}_[a-z0-9_]+\.sql$/,
]

test('none of the live files planted in data/ (database, WAL, key, lock, log, outbox) nor a test is packed', ({ packed }) => {
  for (const file of packed.planted) assert.not.ok(packed.files.includes(file), `${file} is in the package`)
  const unexpected = packed.files.filter((file) => !allowed.some((pattern) => pattern.test(file)))
  assert.equal(unexpected, [], `files a user does not need: ${unexpected.join(', ')}`)
  assert.not.ok(packed.files.some((file) => /(^|\/)(test|bench|fixtures?)\//.test(file)), 'a test, bench or fixture file is packed')
})

test('what a user needs is packed: the CLI, its build, schemas, migrations, the password list, LICENSE, deploy/', ({ packed }) => {
  for (const file of ['migrations/sqlite/001_rate_buckets.sql', 'migrations/sqlite/010_token_rotation.sql', 'migrations/postgres/001_initial.sql', 'bin/hafnium.js', 'dist/cli/entry.js', 'dist/index.js', 'dist/index.d.ts', 'schemas/envelope.json', 'data/common-passwords.txt', 'LICENSE', 'server.config.json', 'deploy/hafnium.service', 'deploy/nginx-hafnium.conf', 'deploy/server.config.json']) {
    assert.ok(packed.files.includes(file), `${file} is missing from the package`)
  }
})

test('the installed package serves, creating data/ in the working directory', async ({ consumer }) => {
  const cwd = mkdtempSync(join(tmpdir(), 'hafnium-start-'))
  const child = spawn(process.execPath, [join(consumer, 'node_modules/hafnium/bin/hafnium.js'), 'serve', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line within 30 s:\n${output}`)), 30_000)
      child.stdout.on('data', () => {
        if (/listening on ws:\/\//.test(output)) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${output}`)))
    })
    assert.ok(existsSync(join(cwd, 'data/hafnium.db')), 'data/hafnium.db was not created')
  } finally {
    child.kill('SIGTERM')
  }
})

const consumerSource = `
import { startServer, loadConfig, ProtocolError, type Config, type HafniumServer, type ErrID } from 'hafnium'
import { HafniumClient } from 'hafnium/client'

const config: Readonly<Config> = loadConfig({ overrides: { server: { port: 0 } } })
const server: HafniumServer = await startServer(config)
const errID: ErrID = 'invalid_creds'
console.log(server.url, new ProtocolError(errID).errID, typeof HafniumClient)
await server.close()
`

for (const [module, moduleResolution] of [['node16', 'node16'], ['esnext', 'bundler']] as const) {
  test(`a consumer compiles against the types with skipLibCheck off, moduleResolution ${moduleResolution}`, async ({ consumer }) => {
    const dir = join(consumer, moduleResolution)
    writeFileSync(join(consumer, `${moduleResolution}.ts`), consumerSource)
    const tsconfig = {
      compilerOptions: { strict: true, skipLibCheck: false, module, moduleResolution, target: 'es2022', noEmit: true, types: ['node'] },
      files: [`${moduleResolution}.ts`],
    }
    writeFileSync(`${dir}.tsconfig.json`, JSON.stringify(tsconfig))
    const result = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', `${dir}.tsconfig.json`], { cwd: consumer, timeoutMs: 120_000 })
    assert.is(result.code, 0, `tsc failed:\n${result.stdout}${result.stderr}`)
  })
}

test.run()
