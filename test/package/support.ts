// A scratch copy of the repository with live data in data/, built and packed: what `npm pack` would ship.
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../src/store/index.ts'

export const root = fileURLToPath(new URL('../../', import.meta.url))

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to completion; fails with what it ran if it takes longer than `timeoutMs`. */
export function run(command: string, args: string[], options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<Run> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs} ms\n${stdout}\n${stderr}`))
    }, options.timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

export interface Packed {
  /** The scratch copy of the repository. */
  dir: string
  /** Paths listed by `npm pack --dry-run --json`, relative to the package root. */
  files: string[]
  /** The packed tarball. */
  tarball: string
  /** The live files planted before packing (relative paths). */
  planted: string[]
}

let packed: Promise<Packed> | undefined

/** Built and packed once per process: both package suites use it. */
export function packScratchCopy(): Promise<Packed> {
  packed ??= pack()
  return packed
}

async function pack(): Promise<Packed> {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-pack-'))
  // Copy the sources, never the developer's node_modules, .git, build or live data (data/ keeps what git tracks).
  const skip = new Set(['node_modules', '.git', 'dist'])
  cpSync(root, dir, {
    recursive: true,
    filter: (source) => {
      const path = relative(root, source)
      if (skip.has(path.split(sep)[0]!)) return false
      return !(path.startsWith(`data${sep}`) && !['data/README.md', 'data/common-passwords.txt'].includes(path.split(sep).join('/')))
    },
  })
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  const build = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, timeoutMs: 120_000 })
  if (build.code !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`)

  // What a running server leaves behind: database, WAL, shared memory, outbox key, lock; plus a log, an
  // outbox file, and a test compiled by a stray `tsc -p .`.
  const store = openStore(join(dir, 'data/hafnium.db'), { synchronous: 'normal', busyTimeoutMs: 200 })
  try {
    writeFileSync(join(dir, 'data/outbox.jsonl'), '{"channel":"email","code":"123456"}\n')
    writeFileSync(join(dir, 'data/hafnium.log'), '{"level":30,"msg":"listening"}\n')
    writeFileSync(join(dir, 'hafnium.log'), '{"level":30,"msg":"listening"}\n')
    mkdirSync(join(dir, 'dist/test'), { recursive: true })
    writeFileSync(join(dir, 'dist/test/leak.test.js'), '')
    const planted = ['data/hafnium.db', 'data/hafnium.db-wal', 'data/hafnium.db-shm', 'data/hafnium.db.key', 'data/hafnium.db.lock']
      .concat(['data/outbox.jsonl', 'data/hafnium.log', 'hafnium.log', 'dist/test/leak.test.js'])
    const listing = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, timeoutMs: 60_000 })
    if (listing.code !== 0) throw new Error(`npm pack --dry-run failed:\n${listing.stderr}`)
    const files = (JSON.parse(listing.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path).sort()
    const real = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: dir, timeoutMs: 60_000 })
    if (real.code !== 0) throw new Error(`npm pack failed:\n${real.stderr}`)
    const tarball = join(dir, (JSON.parse(real.stdout) as { filename: string }[])[0]!.filename)
    return { dir, files, tarball, planted }
  } finally {
    store.close()
  }
}

/**
 * A consumer project with the tarball unpacked as node_modules/hafnium. The registry is out of reach
 * here (`npm install --offline` finds no cache), so the package's dependencies are symlinked from the
 * repository's node_modules — and so is @types/node, which any Node project has; no other @types.
 */
export async function consumerProject(tarball: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-consumer-'))
  const target = join(dir, 'node_modules/hafnium')
  mkdirSync(target, { recursive: true })
  const untar = await run('tar', ['xzf', tarball, '-C', target, '--strip-components=1'], { cwd: dir, timeoutMs: 30_000 })
  if (untar.code !== 0) throw new Error(`tar failed: ${untar.stderr}`)
  const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> }
  for (const name of [...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies ?? {}), '@types/node']) {
    mkdirSync(join(dir, 'node_modules', name, '..'), { recursive: true })
    symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name), 'dir')
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  return dir
}
