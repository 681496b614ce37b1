// Child processes for the benchmark: start a server pinned to a core, read its CPU time and RSS from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { availableParallelism } from 'node:os'

export const hasTaskset = spawnSync('taskset', ['-V']).status === 0
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100

export interface ServerProcess {
  child: ChildProcess
  url: string
  pid: number
  stop(): Promise<void>
}

/** The machine's cores, read before pinSelf narrows this process to one. */
export const cores = availableParallelism()
/** Every core, as a taskset list. */
export const allCpus = `0-${cores - 1}`

/**
 * `command` pinned to `cpu` (default: every core) when taskset exists. Explicitly every core: a child
 * inherits the affinity of this process, which pinSelf has narrowed to the load generator's core.
 */
export function pinned(command: string[], cpu = allCpus): string[] {
  return hasTaskset ? ['taskset', '-c', cpu, ...command] : command
}

/** Spawns `command` (see pinned) and waits for its "listening on ws://…" line; with `logDir`, its output also goes to logDir/<pid>.log. */
export function startProcess(command: string[], cpu?: string, env?: Record<string, string>, logDir?: string): Promise<ServerProcess> {
  const argv = pinned(command, cpu)
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  running.add(child)
  child.once('exit', () => running.delete(child))
  if (logDir) {
    const file = createWriteStream(join(logDir, `${child.pid}.log`))
    // --trace-gc stamps ms since the process started: this lines them up with the load generator's clock.
    file.write(`# spawned at ${Date.now()} ms since the epoch: ${command.join(' ')}\n`)
    // Two sources, one file: neither may end it (the other would then write after its end); the child's exit does.
    child.stdout!.pipe(file, { end: false })
    child.stderr!.pipe(file, { end: false })
    child.once('close', () => file.end())
  }
  let out = ''
  let err = ''
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk) => (err += chunk))
    child.stdout!.on('data', (chunk) => {
      out += chunk
      const match = /listening on (ws:\/\/\S+)/.exec(out)
      if (match)
        resolve({
          child,
          url: match[1]!,
          pid: child.pid!,
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done())
              child.kill('SIGTERM')
              setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
            }),
        })
    })
    child.once('exit', (code) => reject(new Error(`${command.join(' ')} exited ${code}: ${err}`)))
  })
}

// The servers still up: killed when the bench exits, whatever the way out (a scenario that throws skips its
// stop(), and a server left behind stays pinned to the core the next measurement uses).
const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** User+system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

/** System calls made so far that read or write (/proc/PID/io syscr + syscw: reads, writes, writevs, pwrites…). */
export function ioSyscalls(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8')
  return Number(/^syscr: (\d+)/m.exec(io)?.[1] ?? NaN) + Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? NaN)
}

/**
 * Milliseconds the hypervisor ran something else while `cpu` (one core's number) had work: /proc/stat's
 * steal column, in ticks. On a shared VM the vCPU is taken away for whole milliseconds at a time, and a
 * server at half its peak needs about as long again to catch up.
 */
export function stealMs(cpu: string): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `))
  return line ? (Number(line.trim().split(/\s+/)[8]) * 1000) / ticksPerSecond : NaN
}

/** Times the process's main thread was switched out while it could still run (another task on its core). */
export function involuntarySwitches(pid: number): number {
  const match = /^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? NaN)
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match![1]) * 1024
}

/** Pins this process (the load generator) to a core. */
export function pinSelf(cpu: string): void {
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)])
}
