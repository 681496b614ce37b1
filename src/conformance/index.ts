// The conformance suite: black-box checks of a Cadmium-style server at a URL, grouped, each PASS, FAIL or SKIP.
import { WebSocket as WsWebSocket } from 'ws'
import { HafniumClient, type WebSocketConstructor } from '../client/index.ts'
import { accountsGroup } from './checks/accounts.ts'
import { adminGroup } from './checks/admin.ts'
import { captchaGroup } from './checks/captcha.ts'
import { codesGroup } from './checks/codes.ts'
import { devicesGroup } from './checks/devices.ts'
import { deviceAuthorizationGroup } from './checks/device-authorization.ts'
import { envelopeGroup } from './checks/envelope.ts'
import { profileGroup } from './checks/profile.ts'
import { providersGroup } from './checks/providers.ts'
import { serverGroup } from './checks/server.ts'
import { signinGroup, type TicketIssuerOption } from './checks/signin.ts'
import { Harness, randomName, type CheckResult } from './harness.ts'
import { probeOutbox } from './outbox.ts'
import type { Group, Suite } from './suite.ts'

export type { CheckResult } from './harness.ts'
export type { TicketIssuerOption } from './checks/signin.ts'

/**
 * In running order: later groups use the account that `accounts` registers; `admin` deactivates it, so it
 * goes after them; `captcha` spends this address's login budget, so it goes last.
 */
export const groups: Readonly<Record<string, Group>> = {
  server: serverGroup,
  envelope: envelopeGroup,
  accounts: accountsGroup,
  devices: devicesGroup,
  'device-authorization': deviceAuthorizationGroup,
  profile: profileGroup,
  codes: codesGroup,
  signin: signinGroup,
  providers: providersGroup,
  admin: adminGroup,
  captcha: captchaGroup,
}

export interface ConformanceOptions {
  url: string
  /** The `to` of requests (default: what the server answers to, see HafniumClient). */
  domain?: string
  /** Groups not to run (see `groups`). */
  skip?: string[]
  /** The server's delivery.outboxFile: enables the `codes` group. */
  outboxFile?: string
  /** An issuer the server trusts (tickets.issuers) with its secret or private key: enables ticket.ok and ticket.replay. */
  ticketIssuer?: TicketIssuerOption
  /** Called as each check finishes (the CLI prints it). */
  onResult?: (result: CheckResult) => void
  /** The longest rate-limit wait (`retryAfter`) the suite sits out. Default 30000 ms. */
  maxWaitMs?: number
  /** How long a reply or an event may take. Default 10000 ms. */
  timeoutMs?: number
  /** Default: the `ws` package, which (unlike browsers and Node's built-in) says why a connection failed. */
  WebSocket?: WebSocketConstructor
}

export interface ConformanceReport {
  url: string
  domain: string
  server: { version: string; registration: string } | null
  startedAt: string
  durationMs: number
  passed: number
  failed: number
  skipped: number
  results: CheckResult[]
}

/** Runs every group not skipped; rejects only when the server cannot be reached at all (a HafniumConnectionError). */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const unknown = (options.skip ?? []).filter((name) => !(name in groups))
  if (unknown.length > 0) throw new Error(`unknown group ${unknown.join(', ')} (groups: ${Object.keys(groups).join(', ')})`)
  const started = Date.now()
  const timeoutMs = options.timeoutMs ?? 10_000
  // `ws` unless told otherwise: only it says why a connection failed (refused, HTTP 404…), on every Node.
  const WebSocket = options.WebSocket ?? (WsWebSocket as unknown as WebSocketConstructor)
  // One connection to learn the domain (and to fail early, with a readable error, when nothing answers).
  const probe = await HafniumClient.connect(options.url, { domain: options.domain, WebSocket, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs })
  const domain = probe.domain
  try {
    if (options.outboxFile) {
      const request = (email: string) => probe.request('verification:request', { purpose: 'signup', thirdPID: email }).then(() => true, () => false)
      await probeOutbox(request, options.outboxFile, `cf-${randomName(10)}@conformance.example`)
    }
  } finally {
    await probe.close()
  }

  const h = new Harness({ url: options.url, domain, maxWaitMs: options.maxWaitMs ?? 30_000, timeoutMs, WebSocket, onResult: options.onResult ?? (() => {}) })
  const suite: Suite = { h, info: undefined, outboxFile: options.outboxFile, ticketIssuer: options.ticketIssuer, account: undefined, devices: {} }
  try {
    for (const [name, group] of Object.entries(groups)) {
      if (options.skip?.includes(name)) continue
      h.group = name
      // A check records its own failure; this catches what fails between checks (a connection that cannot open).
      await group(suite).catch((error: Error) => h.record({ name: `${name}.group`, group: name, status: 'fail', reason: error.message, ms: 0 }))
    }
  } finally {
    await h.closeAll()
  }
  const count = (status: CheckResult['status']) => h.results.filter((r) => r.status === status).length
  return {
    url: options.url,
    domain,
    server: suite.info ? { version: suite.info.version, registration: suite.info.registration } : null,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skip'),
    results: h.results,
  }
}
