// WAL checkpoints off the request path: a worker thread with its own connection runs them, not a commit.
import { statSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import type { Database } from 'better-sqlite3'
import { createRequire } from 'node:module'
import { driverPackage } from './driver.ts'

export interface CheckpointerOptions {
  synchronous: 'normal' | 'full'
  /** How often the WAL's size is looked at (one stat). */
  checkIntervalMs?: number
  /** A WAL past this many bytes is checkpointed now; a non-empty one at least every `idleIntervalMs`. Default: SQLite's auto-checkpoint size (1,000 pages). */
  softBytes?: number
  /** Past this the serving connection checkpoints itself, as SQLite would: a worker that falls behind cannot let the WAL grow without bound. */
  hardBytes?: number
  idleIntervalMs?: number
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void }
  /** The worker's code (tests give it one that fails); default checkpointWorkerSource. */
  workerSource?: string
}

export interface Checkpointer {
  /** Closes the worker's connection (waits for a checkpoint under way, up to 5 s) so the serving connection closes last and removes the WAL. */
  stop(): void
  readonly stats: { worker: number; inline: number; failed: boolean; ready: boolean }
  /** The serving connection's wal_autocheckpoint as the checkpointer wants it: 0 while the worker serves, 1,000 once it failed. */
  readonly autocheckpoint: number
}

/** [0]: 0 starting, 1 open, 2 closed or never to open; stop() claims 0 → 2 so the worker never opens after it. */
interface WorkerData {
  driver: string
  path: string
  synchronous: 'NORMAL' | 'FULL'
  state: Int32Array
}

type CheckpointReply = 'ready' | { ok: true; busy: number; log: number; checkpointed: number } | { ok: false; error: string }

/** How much nicer than the serving thread the worker runs: its share of a core both want drops to ~10%. */
export const workerNiceness = 10

/**
 * The worker thread's code, as a string (eval): it then runs the same from src/ under tsx, whose hooks Node 20
 * does not carry into a worker (registering them there cost ~360 ms of CPU per server), and from dist/. Its
 * own connection copies the WAL into the database file and fsyncs it, off the event loop that serves requests.
 */
export const checkpointWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { driver, path, synchronous, state } = workerData
// Below the serving thread (nice +${workerNiceness}) where both share a core: a checkpoint's CPU (a few ms,
// once a second under the bench's mixed traffic, with a wake-up after each fsync) then mostly yields to
// the event loop instead of preempting it mid-request, which made a burst of late replies every second.
// Linux only (setpriority on a thread ID reaches that thread alone), and only where /proc is this
// process's (a PID namespace's IDs otherwise); elsewhere, or if refused, it stays as it is.
try {
  const os = require('node:os')
  const [pid, , tid] = require('node:fs').readlinkSync('/proc/thread-self').split('/').map(Number)
  if (pid === process.pid) os.setPriority(tid, Math.min(19, os.getPriority(tid) + ${workerNiceness}))
} catch {}
if (Atomics.compareExchange(state, 0, 0, 1) !== 0) {
  parentPort.close()
} else {
  const db = new (require(driver))(path, { fileMustExist: true, timeout: 0 })
  // The checkpoint's fsyncs follow the serving connection's level (NORMAL: the database file after the copy).
  db.pragma('synchronous = ' + synchronous)
  // PASSIVE: takes no lock a writer needs and waits for no reader, so the serving thread's writes go on meanwhile.
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
  parentPort.on('message', (message) => {
    if (message === 'close') {
      db.close()
      Atomics.store(state, 0, 2)
      Atomics.notify(state, 0)
      parentPort.close()
      return
    }
    let reply
    try {
      reply = { ok: true, ...checkpoint.get() }
    } catch (error) {
      reply = { ok: false, error: String((error && error.stack) || error) }
    }
    parentPort.postMessage(reply)
  })
  parentPort.postMessage('ready')
}
`

/**
 * With SQLite's default the commit that takes the WAL past 1,000 pages also checkpoints: it copies the WAL
 * into the database file and fsyncs both, on the event loop, a stall of 10-15 ms on this machine's disk for
 * every request queued behind it (the bench's mixed scenario at half its peak: the largest burst of slow
 * replies, one every ~3 s). Here the serving connection never checkpoints on its own (wal_autocheckpoint = 0);
 * a worker thread runs a PASSIVE checkpoint (it takes no lock a writer needs) when the WAL passes `softBytes`,
 * or every `idleIntervalMs` while it holds anything. journal_size_limit hands the file's space back after a
 * burst. If the worker fails the serving connection checkpoints as SQLite's default does (logged); if it falls
 * behind (a PASSIVE checkpoint never catches a writer that never pauses), the serving connection checkpoints
 * once the WAL passes `hardBytes`.
 */
export function startCheckpointer(db: Database, path: string, options: CheckpointerOptions): Checkpointer {
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const softBytes = options.softBytes ?? 1000 * pageSize
  const hardBytes = options.hardBytes ?? 4 * softBytes
  const idleIntervalMs = options.idleIntervalMs ?? 1000
  const walPath = `${path}-wal`
  const stats = { worker: 0, inline: 0, failed: false, ready: false }
  db.pragma('wal_autocheckpoint = 0')
  db.pragma(`journal_size_limit = ${softBytes}`)

  const state = new Int32Array(new SharedArrayBuffer(4))
  let worker: Worker | undefined
  let inFlight = false
  let lastPosted = performance.now()
  let stopping = false
  // What the last inline checkpoint left: a WAL file that has not grown since needs no second one.
  let afterInline = 0
  // The WAL file's size when a checkpoint last found everything in it copied: until it changes there is
  // nothing for an idle checkpoint to do (a WAL the next writer restarts and refills below that size waits
  // for softBytes, as SQLite's own auto-checkpoint would).
  let settledBytes = -1

  const fail = (error: unknown) => {
    if (stats.failed || stopping) return
    stats.failed = true
    clearInterval(timer)
    options.log?.error({ err: error }, 'WAL checkpoint worker failed: the serving connection checkpoints again (SQLite default, 1,000 pages)')
    if (db.open) db.pragma('wal_autocheckpoint = 1000')
  }
  // Started at the first checkpoint needed, not at open: a thread costs ~80 ms of CPU, and a server that
  // never writes much (most test servers) never needs it.
  const startWorker = () => {
    // The same build of better-sqlite3 as the serving connection (driver.ts picks it by Node major), by absolute path.
    const workerData: WorkerData = { driver: createRequire(import.meta.url).resolve(driverPackage), path, synchronous: options.synchronous === 'full' ? 'FULL' : 'NORMAL', state }
    const started = new Worker(options.workerSource ?? checkpointWorkerSource, { eval: true, workerData })
    started.unref()
    started.on('error', fail)
    started.on('exit', (code) => fail(new Error(`checkpoint worker exited with code ${code}`)))
    started.on('message', (reply: CheckpointReply) => {
      if (reply === 'ready') return void (stats.ready = true)
      inFlight = false
      if (reply.ok) {
        stats.worker++
        if (reply.busy === 0 && reply.log === reply.checkpointed) settledBytes = walBytes()
      }
      // A failed checkpoint (an I/O error, a full disk) is tried again; the hard limit still bounds the WAL.
      else options.log?.warn({ err: reply.error }, 'WAL checkpoint in the worker failed; will retry')
    })
    return started
  }

  const walBytes = () => {
    try {
      return statSync(walPath).size
    } catch {
      return 0 // not there (yet): nothing to checkpoint
    }
  }
  const checkIntervalMs = options.checkIntervalMs ?? 100
  const check = () => {
    if (!db.open || stopping || stats.failed) return
    const bytes = walBytes()
    if (bytes > hardBytes && bytes > afterInline) {
      // The inline fallback: what every commit past 1,000 pages did before; after it, the next write restarts
      // the WAL from its beginning and truncates the file to softBytes.
      try {
        const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number }[]
        // Busy (the worker's checkpoint holds the lock): not done, the next check tries again.
        if (result?.busy === 0) {
          stats.inline++
          afterInline = bytes
        }
      } catch (error) {
        options.log?.warn({ err: error }, 'WAL checkpoint on the serving connection failed; will retry')
      }
      return
    }
    if (bytes <= hardBytes) afterInline = 0
    if (bytes === 0 || bytes === settledBytes || inFlight || (bytes <= softBytes && performance.now() - lastPosted < idleIntervalMs)) return
    try {
      worker ??= startWorker()
    } catch (error) {
      return fail(error) // no worker thread (resources, the driver not found): SQLite's own checkpoints again
    }
    if (!stats.ready) return
    inFlight = true
    lastPosted = performance.now()
    worker.postMessage('checkpoint')
  }
  const timer = setInterval(check, checkIntervalMs)
  timer.unref()

  return {
    stats,
    get autocheckpoint() {
      return stats.failed ? 1000 : 0
    },
    stop() {
      if (stopping) return
      stopping = true
      clearInterval(timer)
      // A worker that never opened its connection never will; one that did closes it (after a checkpoint under way).
      if (Atomics.compareExchange(state, 0, 0, 2) !== 0 && !stats.failed) {
        worker!.postMessage('close')
        Atomics.wait(state, 0, 1, 5000)
      }
      void worker?.terminate()
    },
  }
}
