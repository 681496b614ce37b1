// This process's name among the nodes serving one database: server:info reports it, cross-node events carry it.
import { hostname } from 'node:os'

/**
 * `server.node`, or `<hostname>-<pid>`: unique on one machine and across machines with distinct host
 * names, which is what a node needs to skip its own events on the shared channel. Characters outside
 * the config's pattern ([A-Za-z0-9._-]) are replaced, and the host part is cut to keep it ≤ 64.
 */
export function nodeName(configured: string | null | undefined, host = hostname(), pid = process.pid): string {
  if (configured) return configured
  const suffix = `-${pid}`
  const safeHost = host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64 - suffix.length) || 'node'
  return safeHost + suffix
}
