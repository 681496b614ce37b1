// @hafnium/client as a consumer gets it: the packed tarball alone, installed offline into an empty folder.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'

const packageDir = fileURLToPath(new URL('../../packages/client/', import.meta.url))
const wsEntry = fileURLToPath(new URL('../../node_modules/ws/wrapper.mjs', import.meta.url))
const test = suite<{ t: TestServer; dir: string }>('@hafnium/client package')

test.before(async (ctx) => {
  ctx.t = await startTestServer()
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-consumer-'))
})
test.after(async (ctx) => {
  await ctx.t.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

/** Runs a command; rejects naming it (and its output) when it fails or outlasts `timeoutMs`. */
function run(file: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: timeoutMs, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed or took over ${timeoutMs} ms: ${error.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).map((entry) => join(entry.parentPath, entry.name))
}

test('packs alone, installs offline with no install script and nothing native, imports and talks to a real server', async ({ t, dir }) => {
  // `npm pack` runs the package's prepack (tsc), so the tarball holds a fresh build.
  const [packed] = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', dir], packageDir, 120_000)) as {
    filename: string
    files: { path: string }[]
  }[]
  const shipped = packed!.files.map((f) => f.path).sort()
  assert.ok(shipped.includes('dist/index.js') && shipped.includes('dist/index.d.ts'), `ESM build and types: ${shipped.join(', ')}`)
  assert.ok(!shipped.some((f) => /\.node$|binding\.gyp$|\.ts$/.test(f) && !f.endsWith('.d.ts')), `no native or source files: ${shipped.join(', ')}`)

  const consumer = join(dir, 'app')
  await run('mkdir', ['-p', consumer], dir, 10_000)
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', join(dir, packed!.filename)], consumer, 120_000)

  const installed = readdirSync(join(consumer, 'node_modules'), { withFileTypes: true }).map((e) => e.name).filter((n) => !n.startsWith('.'))
  assert.equal(installed, ['@hafnium'], 'no dependency came with it')
  const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules/@hafnium/client/package.json'), 'utf8'))
  // npm runs preinstall/install/postinstall/prepare of a dependency, and `node-gyp rebuild` when it has a binding.gyp.
  const hooks = Object.keys(manifest.scripts ?? {}).filter((s) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(s))
  assert.equal(hooks, [], 'no install script')
  assert.equal([manifest.dependencies, manifest.optionalDependencies, manifest.sideEffects, manifest.type], [undefined, undefined, false, 'module'])
  assert.equal(walk(join(consumer, 'node_modules')).filter((f) => /\.node$|binding\.gyp$/.test(f)), [], 'nothing native')

  // Node 20 has no global WebSocket: the app brings one, as the README says.
  writeFileSync(
    join(consumer, 'main.js'),
    `import { HafniumClient, HafniumError } from '@hafnium/client'
const WebSocket = globalThis.WebSocket ?? (await import(${JSON.stringify(wsEntry)})).WebSocket
const client = await HafniumClient.connect(process.env.URL, { WebSocket })
const session = await client.register('consumer', 'a-long-enough-password')
const refused = await client.request('profile:login', { username: 'consumer', password: 'wrong-password-x' }).catch((e) => e)
console.log(JSON.stringify({ user: session.userID.length > 0, ping: await client.request('server:ping', {}), refused: refused instanceof HafniumError && refused.errID }))
await client.close()
`,
  )
  const out = await run(process.execPath, ['main.js'], consumer, 30_000, { ...process.env, URL: t.url })
  assert.equal(JSON.parse(out), { user: true, ping: {}, refused: 'invalid_creds' })
})

test.run()
