// The server: extensions, store and cluster bus opened, the router wired to them, the listener started
// (its HTTP and WebSocket side: transport/websocket.ts), background work, and the order of the graceful
// drain (its steps: transport/shutdown.ts).
import { createCaptcha } from './auth/captcha.ts'
import { createRelyingParty } from './auth/oidc.ts'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { LiveConnection } from './connection.ts'
import type { Deps } from './handler.ts'
import { createNameBackoff, createSharedNameBackoff } from './accounts/login-backoff.ts'
import { createSeenTracker, flushSeen } from './accounts/session-lifetime.ts'
import { handlers as defaultHandlers } from './handlers/index.ts'
import { createLogger } from './log.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { createRateLimiter, type Clock } from './rate-limit.ts'
import { createRouter } from './router.ts'
import { loadSchemas } from './schemas.ts'
import { createSessions, type Sessions } from './sessions.ts'
import type { Store } from './store/index.ts'
import { openConfiguredStore } from './store/open.ts'
import type { Config } from './types/schemas.ts'
import { version } from './version.ts'
import { createClientAddressResolver } from './transport/client-address.ts'
import { createListener } from './transport/listener.ts'
import { createForwardedWarning, warnAtStart } from './transport/warnings.ts'
import { serveWebSockets } from './transport/websocket.ts'
import { closeOpened, drainConnections, type Opened } from './transport/shutdown.ts'
import { createPasswordHasher } from './auth/passwords.ts'
import { createDeliverySender, type DeliverySender, type Transports } from './delivery/sender.ts'
import { startBackground } from './background.ts'
import { closeExtensions, loadExtensions, startExtensions } from './extensions/load.ts'
import { extensionRoutes } from './extensions/handlers.ts'
import { createLocalEventBus, type EventBus } from './extensions/notify.ts'
import { ConfigError } from './config.ts'
import { nodeName } from './cluster/node-name.ts'
import { createSessionCheck, resyncSessions } from './cluster/session-check.ts'
import { createBus } from './cluster/index.ts'
import type { ClusterBus } from './cluster/bus.ts'
import { settleWaiter } from './accounts/device-authorization.ts'

export interface ServerOptions {
  clock?: Clock
  logger?: Logger
  /** Replaces the configured delivery transport of a channel (tests). */
  transports?: Partial<Transports>
  /** The cluster bus to use instead of the one database.url selects (tests of several nodes). Closed with the server. */
  bus?: ClusterBus
}

export interface HafniumServer {
  /** ws://host:port/path, or wss:// with server.tls */
  readonly url: string
  readonly port: number
  readonly metrics: Metrics
  readonly store: Store
  readonly sessions: Sessions
  /** Where extensions' notify() goes (this process's sockets). */
  readonly events: EventBus
  readonly deps: Deps
  /** The outbox sender (tests await `delivery.drainOnce()` instead of sleeping). */
  readonly delivery: DeliverySender
  readonly connections: ReadonlySet<LiveConnection>
  /** Re-reads server.tls's files (SIGHUP); throws, keeping the old certificate, when they are unusable. */
  reloadTls(): void
  /** Stops accepting, answers what was read, closes sockets with 1001, closes the database. */
  close(): Promise<void>
}

export async function startServer(config: Readonly<Config>, options: ServerOptions = {}): Promise<HafniumServer> {
  const clock = options.clock ?? { now: Date.now }
  const log = options.logger ?? createLogger(config.log.level)
  const schemas = loadSchemas()
  // Before the database opens: a broken extension stops start-up without touching (or locking) the file.
  const builtIn = defaultHandlers.map((h) => h.type)
  const extensions = await loadExtensions(config.extensions, new Set(builtIn))
  checkRuleTypes(config, [...builtIn, ...extensions.types.map((e) => e.type)])
  await startExtensions(extensions.modules, { log })
  const node = nodeName(config.server.node)
  let opened: Store | undefined
  let bus: ClusterBus
  try {
    // The serving process checkpoints its WAL from a worker thread, off the event loop (store/checkpointer.ts).
    opened = await openConfiguredStore(config.database, { checkpoints: 'worker', log })
    bus = options.bus ?? (await createBus(config, node, log))
  } catch (error) {
    await opened?.close()
    await closeExtensions(extensions.modules, (module, err) => log.warn({ err, extension: module }, 'extension close failed'))
    throw error
  }
  const store = opened
  const limiter = createRateLimiter(config.ratelimit, store.rateBuckets, clock)
  const metrics = createMetrics()
  const clients = createClientAddressResolver({ trustProxy: config.server.trustProxy, ipv6Prefix: config.ratelimit.ipv6Prefix })
  const warnForwarded = createForwardedWarning(config, log)
  const sessions = createSessions(bus)
  const server = { version, node, types: [] as string[] }
  const passwords = createPasswordHasher({
    params: config.password.argon2,
    maxConcurrent: config.password.maxConcurrentHashes,
    maxQueued: config.password.maxQueuedHashes,
  })
  const delivery = createDeliverySender({ store, config, clock, log, transports: options.transports })
  const seen = createSeenTracker()
  const captcha = createCaptcha(config.captcha, store.captcha)
  const sessionCheck = createSessionCheck(store, clock)
  bus.listen({
    deliver: sessions.deliver,
    resync: () => {
      resyncSessions(sessions, store).then(
        (revoked) => revoked > 0 && log.info({ revoked }, 'cluster bus: devices revoked while this node was not listening were cut off'),
        (err: unknown) => log.warn({ err }, 'cluster bus: re-checking live sessions failed; their next requests check them'),
      )
    },
  })
  const deps: Deps = { config, store, clock, limiter, log, sessions, sessionCheck, seen, passwords, nameBackoff: store.loginNames ? createSharedNameBackoff(store.loginNames) : createNameBackoff(), captcha, oidc: createRelyingParty(), server, delivery }
  // A grant decided on another node whose requesting connection is here: collected (or refused) here.
  sessions.onGrantDecided((conn, grantID, approved) => {
    settleWaiter(deps, grantID, conn, approved).catch((err: unknown) => log.error({ err }, 'settling a device authorization decided on another node failed'))
  })
  const events = createLocalEventBus(sessions)
  const router = createRouter(deps, defaultHandlers, schemas, metrics, extensionRoutes(extensions.types, events, store))
  server.types = [...router.types]
  metrics.allowTypes(router.types)
  metrics.watchLimiter(limiter)
  warnAtStart(config, log)
  if (extensions.types.length > 0) log.info({ types: extensions.types.map((e) => e.type) }, 'extension types loaded')

  const connections = new Set<LiveConnection>()
  let draining = false

  const started: Opened = { limiter, delivery, extensions: extensions.modules, bus, store, log }
  // A start-up that fails from here on (a TLS file that cannot be read, a port in use) closes what it opened.
  const abandon = async (error: unknown, background?: { stop(): void }): Promise<never> => {
    background?.stop()
    await closeOpened(started).catch((err: unknown) => log.warn({ err }, 'closing after a failed start-up failed'))
    throw error
  }
  let listener: ReturnType<typeof createListener>
  try {
    listener = createListener(config)
  } catch (error) {
    return abandon(error)
  }
  const http = listener.server
  serveWebSockets(http, { config, router, sessions, limiter, metrics, log, connections, clients, warnForwarded, isDraining: () => draining })

  const background = startBackground(deps, connections)

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(config.server.port, config.server.host, () => {
      http.off('error', reject)
      resolve()
    })
  }).catch((error: unknown) => abandon(error, background))
  const port = (http.address() as AddressInfo).port
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host
  log.info({ port, host: config.server.host, db: config.database.path, tls: listener.scheme === 'wss' }, 'listening')

  let closing: Promise<void> | undefined
  async function close() {
    draining = true
    await drainConnections(http, connections, config.server.drainTimeoutMs)
    background.stop()
    await closeOpened(started, () => flushSeen(deps))
    log.info('closed')
  }

  return {
    url: `${listener.scheme}://${host}:${port}${config.server.path}`,
    port,
    metrics,
    store,
    sessions,
    events,
    deps,
    delivery,
    connections,
    reloadTls() {
      listener.reloadTls()
      log.info({ cert: config.server.tls?.cert }, 'TLS certificate reloaded')
    },
    close: () => (closing ??= close()),
  }
}

/** A rate-limit rule naming a type nobody serves is a typo that would leave that type unlimited: refuse it. */
function checkRuleTypes(config: Readonly<Config>, types: readonly string[]) {
  const known = new Set([...types, '*', 'malformed'])
  for (const [name, rule] of Object.entries(config.ratelimit.rules)) {
    const unknown = rule.types?.find((t) => !known.has(t))
    if (unknown) throw new ConfigError(`config: ratelimit.rules.${name}.types: no handler or extension serves the type "${unknown}"`)
  }
}
