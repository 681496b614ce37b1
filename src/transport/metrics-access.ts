// Who may read GET /metrics (contract §11): loopback and metrics.allow, and with metrics.token a bearer
// token on every request. The figures tell an outsider the load, the failure rates and the types served.
import type { IncomingMessage } from 'node:http'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Config } from '../types/schemas.ts'
import { contains, parseCidrList, type ClientAddressResolver } from './client-address.ts'

const loopback = parseCidrList(['127.0.0.0/8', '::1/128'], 'loopback')

/** 200 to answer, 403 for an address not allowed, 401 for a missing or wrong token. */
export function createMetricsGuard(config: Config['metrics'], clients: ClientAddressResolver): (req: IncomingMessage) => 200 | 401 | 403 {
  const allow = parseCidrList(config.allow, 'metrics.allow')
  const expected = config.token === null ? undefined : digest(config.token)
  return (req) => {
    const client = clients.resolve(req)
    // A loopback peer that forwards (a proxy on this host) speaks for someone else: loopback is not enough.
    const local = contains(loopback, client.address) && !client.forwarded
    if (!local && !contains(allow, client.address)) return 403
    if (expected === undefined) return 200
    const match = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')
    // Hashing first makes the comparison constant-time whatever the presented length.
    return match && timingSafeEqual(digest(match[1]!), expected) ? 200 : 401
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
