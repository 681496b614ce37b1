// The cluster bus on PostgreSQL LISTEN/NOTIFY: one dedicated connection per node, events tagged with
// the node's name, reconnection with backoff, and large events split into fragments of one transaction.
import { createHash, randomUUID } from 'node:crypto'
import pg from 'pg'
import type { Logger } from 'pino'
import type { BusListener, ClusterBus, NodeEvent } from './bus.ts'
import { decodeFragment, encodeEvent, type Fragment } from './fragments.ts'

export interface PostgresBusOptions {
  /** postgres://… (database.url) */
  url: string
  /** server.node: unique per cluster, [A-Za-z0-9._-] */
  node: string
  log: Logger
  /**
   * The NOTIFY channel. Default: hafnium_events when the store's tables are in schema public, else one
   * named after the schema (see channelForSchema). NOTIFY is per database already; this keeps clusters
   * in separate schemas of one database (the tests' servers, each on its own schema) from hearing each other.
   */
  channel?: string
  /** Reconnection backoff: doubles from minMs to maxMs, with jitter (default 100 ms → 5 s). */
  backoff?: { minMs: number; maxMs: number }
  /** Events kept while the connection is down (default 10,000); older ones are dropped, with a warning. */
  maxQueued?: number
}

export interface PostgresBus extends ClusterBus {
  /** Resolves once the first LISTEN is in place (rejects if the first connection fails). */
  readonly ready: Promise<void>
  /** Connected and listening now. */
  readonly connected: boolean
  /** The backend pid of the listening connection (tests terminate it to simulate a network blip). */
  readonly backendPid: number | undefined
}

const channelPattern = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * Delivery is at least once per node while connected: an event whose NOTIFY failed because the
 * connection died is published again after the reconnection (revocations are idempotent; an extension
 * event may then arrive twice). Events missed while a node was cut off are not replayed; the listener's
 * resync and the per-request device check (cluster/session-check.ts) cover revocations.
 */
export function createPostgresBus(options: PostgresBusOptions): PostgresBus {
  const { url, node, log } = options
  // Events carry this process's own tag, not only server.node: nodes sharing one config file (the README's
  // recipe) could share a configured name, and each would then drop every other node's events as its own.
  const self = `${node}~${randomUUID()}`
  // Resolved at the first connection unless given: the schema is the connection's search_path.
  let channel = options.channel ?? ''
  if (options.channel !== undefined && !channelPattern.test(channel)) throw new Error(`cluster bus: channel ${JSON.stringify(channel)} is not a plain lower-case identifier`)
  const { minMs, maxMs } = options.backoff ?? { minMs: 100, maxMs: 5000 }
  const maxQueued = options.maxQueued ?? 10_000

  let listener: BusListener | undefined
  let client: pg.Client | undefined
  let connected = false
  let closed = false
  let failures = 0
  let everConnected = false
  let retryTimer: NodeJS.Timeout | undefined
  let sequence = 0
  let dropped = 0
  let sending = false
  // Events (each its NOTIFY fragments) waiting to be sent: while a query runs, or the connection is down.
  const queue: string[][] = []
  // Fragments of events from other nodes, by node and sequence, until the last one arrives.
  const partial = new Map<string, string[]>()

  function onNotification(message: pg.Notification) {
    if (message.channel !== channel || message.payload === undefined) return
    const fragment = decodeFragment(message.payload)
    if (!fragment) return void log.warn({ channel }, 'cluster bus: a notification that is not an event was ignored')
    if (fragment.node === self) return
    const event = assemble(fragment)
    if (!event) return
    try {
      listener?.deliver(event)
    } catch (err) {
      log.error({ err, kind: event.kind }, 'cluster bus: delivering an event failed')
    }
  }

  function assemble(fragment: Fragment): NodeEvent | undefined {
    let text: string
    if (fragment.count === 1) text = fragment.body
    else {
      // A transaction's notifications arrive together and in order (PostgreSQL NOTIFY), so a new first
      // fragment from a node means an older incomplete one from it will not be completed.
      const key = `${fragment.node}|${fragment.sequence}`
      if (fragment.index === 0) partial.set(key, [])
      const parts = partial.get(key)
      if (!parts || parts.length !== fragment.index) return void partial.delete(key)
      parts.push(fragment.body)
      if (parts.length < fragment.count) return undefined
      partial.delete(key)
      text = parts.join('')
    }
    try {
      return JSON.parse(text) as NodeEvent
    } catch {
      log.warn({ from: fragment.node }, 'cluster bus: an event that is not JSON was ignored')
      return undefined
    }
  }

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: url, keepAlive: true, application_name: `hafnium-bus ${node}` })
    const lost = (err?: Error) => {
      if (client !== next) return
      client = undefined
      connected = false
      partial.clear()
      if (!closed) {
        log.warn({ err, channel }, 'cluster bus: the listening connection was lost; reconnecting')
        scheduleReconnect()
      }
    }
    next.on('error', lost)
    next.on('end', () => lost())
    next.on('notification', onNotification)
    client = next
    try {
      await next.connect()
      if (!channel) channel = channelForSchema((await next.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? 'public')
      await next.query(`LISTEN ${channel}`)
    } catch (err) {
      if (client === next) client = undefined
      next.removeAllListeners('end')
      next.end().catch(() => {})
      throw err
    }
    if (closed) return void next.end().catch(() => {})
    // The socket stays ref'd: unref'ing it let a test awaiting a request on a closed store end its run early.
    connected = true
    failures = 0
    if (everConnected) {
      log.info({ channel, dropped }, 'cluster bus: listening again')
      // Events published while this node was cut off are gone: the listener re-checks what it holds.
      try {
        listener?.resync?.()
      } catch (err) {
        log.error({ err }, 'cluster bus: resync failed')
      }
    }
    everConnected = true
    dropped = 0
    void pump()
  }

  function scheduleReconnect() {
    if (closed || retryTimer) return
    const delay = Math.min(maxMs, minMs * 2 ** failures) * (0.5 + Math.random() / 2)
    failures++
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      connect().catch((err: unknown) => {
        log.warn({ err, channel, attempt: failures }, 'cluster bus: reconnecting failed; will retry')
        scheduleReconnect()
      })
    }, delay)
    retryTimer.unref()
  }

  /**
   * One query at a time (pg 9 drops queuing on a client). Events waiting meanwhile go out together, up
   * to 64 fragments per statement: one statement is one transaction, whose notifications PostgreSQL
   * delivers together and in order — a split event is never interleaved with another.
   */
  async function pump() {
    if (sending) return
    sending = true
    try {
      while (connected && client && queue.length > 0) {
        const target = client
        let take = 1
        let fragments = queue[0]!.length
        while (take < queue.length && fragments + queue[take]!.length <= 64) fragments += queue[take++]!.length
        const batch = queue.splice(0, take)
        const all = batch.flat()
        const calls = all.map((_, i) => `pg_notify($1, $${i + 2})`).join(', ')
        try {
          await target.query(`SELECT ${calls}`, [channel, ...all])
        } catch (err) {
          if (closed) return
          if (client === target && connected && !isConnectionError(err)) {
            // The connection is fine, so the statement itself failed: sending it again would fail again.
            log.error({ err, events: batch.length }, 'cluster bus: publishing failed; events dropped')
            continue
          }
          log.warn({ err }, 'cluster bus: publishing failed; the events are sent again after reconnecting')
          queue.unshift(...batch)
          return
        }
      }
    } finally {
      sending = false
    }
  }

  function enqueue(fragments: string[]) {
    queue.push(fragments)
    if (queue.length > maxQueued) {
      queue.shift()
      if (dropped++ === 0) log.warn({ maxQueued }, 'cluster bus: too many events queued while disconnected; dropping the oldest')
    }
  }

  const ready = connect().catch((err: unknown) => {
    scheduleReconnect()
    throw err
  })
  // The server awaits ready; nothing else may see an unhandled rejection from it.
  ready.catch(() => {})

  return {
    node,
    ready,
    get connected() {
      return connected
    },
    get backendPid() {
      return (client as unknown as { processID?: number } | undefined)?.processID
    },
    publish(event) {
      if (closed) return
      enqueue(encodeEvent(self, ++sequence, event))
      void pump()
    },
    listen(next) {
      listener = next
    },
    async close() {
      closed = true
      clearTimeout(retryTimer)
      const last = client
      client = undefined
      connected = false
      await last?.end().catch(() => {})
    },
  }
}

/**
 * The channel of the nodes whose tables are in `schema`: hafnium_events for public (every node of a
 * plain database), hafnium_events_<schema> for another schema that makes a plain identifier short enough,
 * else hafnium_events_<first 32 hex digits of its SHA-256>.
 */
export function channelForSchema(schema: string): string {
  if (schema === 'public') return 'hafnium_events'
  const named = `hafnium_events_${schema}`
  return channelPattern.test(named) ? named : `hafnium_events_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`
}

/**
 * An error that says the connection, not the statement, failed: no SQLSTATE (a socket error, "Connection
 * terminated"), or class 08 (connection exception), 57 (operator intervention: pg_terminate_backend,
 * shutdown) or 53 (insufficient resources).
 */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || /^(08|57|53)/.test(code)
}
