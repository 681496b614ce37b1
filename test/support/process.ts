// Runs the real `hafnium` CLI from source in a child process, for tests of exit codes, signals and locks.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../../src/cli/entry.ts', import.meta.url))
/** The installed command (dist/, built by `npm run build`): starts in a fraction of tsx's time, for tests that start many. */
export const builtEntry = fileURLToPath(new URL('../../bin/hafnium.js', import.meta.url))

export interface CliProcess {
  child: ChildProcess
  /** Resolves with the ws:// URL once the server prints its ready line. */
  ready: Promise<string>
  /** Resolves with the exit code (or signal name) and everything printed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
  /** What it has printed so far, stdout then stderr (for a failure's message while it still runs). */
  output(): string
}

export function runCli(args: string[], options: { input?: string; env?: Record<string, string>; built?: boolean } = {}): CliProcess {
  const command = options.built ? [builtEntry] : ['--import', 'tsx', entry]
  const child = spawn(process.execPath, [...command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  let stdout = ''
  let stderr = ''
  let resolveReady: (url: string) => void
  let rejectReady: (error: Error) => void
  const ready = new Promise<string>((resolve, reject) => {
    resolveReady = resolve
    rejectReady = reject
  })
  child.stdout!.on('data', (chunk) => {
    stdout += chunk
    const match = /listening on (wss?:\/\/\S+)/.exec(stdout)
    if (match) resolveReady(match[1]!)
  })
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => {
      rejectReady(new Error(`exited (${code ?? signal}) before listening: ${stderr}`))
      resolve({ code, signal, stdout, stderr })
    })
  })
  ready.catch(() => {})
  child.stdin!.end(options.input ?? '')
  return { child, ready, exited, output: () => stdout + stderr }
}
