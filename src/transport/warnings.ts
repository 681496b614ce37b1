// Start-up warnings for settings that are fine on a laptop and wrong in production (logged at warn).
import type { IncomingMessage } from 'node:http'
import type { Logger } from 'pino'
import type { Config } from '../types/schemas.ts'
import type { ClientAddress } from './client-address.ts'
import { routerSubjects } from '../rate-limit.ts'

const loopbackHosts = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i

export function warnAtStart(config: Readonly<Config>, log: Logger): void {
  for (const channel of ['email', 'sms'] as const) {
    if (config.delivery[channel].transport !== 'console') continue
    const instead = channel === 'email' ? '"smtp"' : '"webhook"'
    log.warn(
      { setting: `delivery.${channel}.transport` },
      `delivery.${channel}.transport is "console": ${channel} codes are only printed to this log and nobody receives them; set delivery.${channel}.transport to ${instead} for real users`,
    )
  }
  // With every address trusted, every client may write its own X-Forwarded-For: per-IP limits are void.
  const everyone = config.server.trustProxy.filter((cidr) => /\/0+$/.test(cidr))
  if (everyone.length > 0) {
    log.warn(
      { setting: 'server.trustProxy', cidrs: everyone },
      `server.trustProxy contains ${everyone.join(', ')}, which trusts every peer: any client can choose the address per-IP limits see; list only your proxies' addresses`,
    )
  }
  // A rule the router does not charge by type and no handler charges by name limits nothing as written.
  const byType = [...routerSubjects]
  const byTypeList = `${byType.slice(0, -1).join(', ')} or ${byType.at(-1)}`
  for (const [name, rule] of Object.entries(config.ratelimit.rules)) {
    if (!routerSubjects.has(rule.subject) && rule.types && rule.types.length > 0) {
      log.warn(
        { setting: `ratelimit.rules.${name}.types` },
        `ratelimit.rules.${name}.types is ignored: a rule by ${rule.subject} is charged where the ${rule.subject} is known, not by message type; remove types, or use subject ${byTypeList} to limit those types`,
      )
    }
    if (rule.subject === 'account' && name !== 'login_account') {
      log.warn(
        { setting: `ratelimit.rules.${name}` },
        `ratelimit.rules.${name} is never charged: password attempts are charged to login_account only; set its capacity and refill there`,
      )
    }
  }
  if (config.server.allowedOrigins.length === 0 && !loopbackHosts.test(config.server.host)) {
    log.warn(
      { setting: 'server.allowedOrigins', host: config.server.host },
      `server.allowedOrigins is empty on a non-loopback host (${config.server.host}): any web page may open WebSockets to this server from its visitors' browsers; list your web clients' origins in server.allowedOrigins`,
    )
  }
}

/**
 * X-Forwarded-For arriving with no trusted proxy configured means a proxy is in front and every client
 * behind it shares its address for per-IP limits. Said once per process, not per request.
 */
export function createForwardedWarning(config: Readonly<Config>, log: Logger): (req: IncomingMessage, client: ClientAddress) => void {
  let warned = config.server.trustProxy.length > 0
  return (req, client) => {
    if (warned || req.headers['x-forwarded-for'] === undefined) return
    warned = true
    log.warn(
      { setting: 'server.trustProxy', peer: client.address },
      `X-Forwarded-For received from ${client.address} but server.trustProxy is empty: the header is ignored, so every client behind that proxy shares its address for per-IP limits; list the proxy's address in server.trustProxy`,
    )
  }
}
