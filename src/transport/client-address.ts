// Who the client is (contract §11): the TCP peer, or behind trusted proxies the right-most untrusted
// X-Forwarded-For hop; and the key per-IP rules and caps use for it (IPv6 grouped per prefix).
// Kept apart from the limiter: a shared (multi-node) limiter will take these keys as they are.
import type { IncomingMessage } from 'node:http'
import { BlockList, isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

export interface ClientAddress {
  /** The client's address as seen through trusted proxies (logs, a device's last address). */
  address: string
  /** What per-IP rules and caps are keyed on: the IPv4 address, or the IPv6 network of `ipv6Prefix` bits. */
  key: string
  /** The request carried X-Forwarded-For or Forwarded (whether or not it was believed). */
  forwarded: boolean
  /** The TCP peer is a trusted proxy (the address came from X-Forwarded-For). */
  viaTrustedProxy: boolean
}

export interface ClientAddressResolver {
  resolve(req: IncomingMessage): ClientAddress
  /** The address is in the list (a plain check, for allow-lists built with `parseCidrList`). */
  readonly trusts: (address: string) => boolean
}

export class CidrError extends Error {}

/** A BlockList of CIDRs ("10.0.0.0/8", "::1/128"); a bare address counts as one host. Throws CidrError. */
export function parseCidrList(cidrs: readonly string[], key: string): BlockList {
  const list = new BlockList()
  cidrs.forEach((cidr, index) => {
    const [network = '', bits, extra] = cidr.split('/')
    const family = isIP(network)
    const max = family === 6 ? 128 : 32
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
    if (family === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      throw new CidrError(`config: ${key}.${index}: "${cidr}" is not an IPv4 or IPv6 CIDR (like "10.0.0.0/8" or "::1/128")`)
    }
    list.addSubnet(network, prefix, family === 6 ? 'ipv6' : 'ipv4')
  })
  return list
}

/** `::ffff:1.2.3.4` (a dual-stack socket's IPv4 peer) is 1.2.3.4; anything unparsable is undefined. */
export function normalizeAddress(raw: string): string | undefined {
  if (!ipaddr.isValid(raw)) return undefined
  const parsed = ipaddr.process(raw)
  return parsed.kind() === 'ipv6' ? (parsed as ipaddr.IPv6).toRFC5952String() : parsed.toString()
}

export function contains(list: BlockList, address: string): boolean {
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

/** The per-IP key: IPv4 as is; IPv6 as its /prefix network ("2001:db8:1:2::/64"), since one host holds a /64. */
export function addressKey(address: string, ipv6Prefix: number): string {
  if (isIP(address) !== 6 || ipv6Prefix >= 128) return address
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${address}/${ipv6Prefix}`)
  return `${network.toRFC5952String()}/${ipv6Prefix}`
}

export function createClientAddressResolver(options: { trustProxy: readonly string[]; ipv6Prefix: number }): ClientAddressResolver {
  const trusted = parseCidrList(options.trustProxy, 'server.trustProxy')
  const trusts = (address: string) => contains(trusted, address)
  const anyTrusted = options.trustProxy.length > 0

  function resolve(req: IncomingMessage): ClientAddress {
    const peer = normalizeAddress(req.socket.remoteAddress ?? '') ?? 'unknown'
    const header = req.headers['x-forwarded-for']
    const forwarded = header !== undefined || req.headers.forwarded !== undefined
    let address = peer
    let viaTrustedProxy = false
    if (anyTrusted && header !== undefined && peer !== 'unknown' && trusts(peer)) {
      viaTrustedProxy = true
      address = fromForwardedFor(Array.isArray(header) ? header.join(',') : header, peer, trusts)
    }
    return { address, key: addressKey(address, options.ipv6Prefix), forwarded, viaTrustedProxy }
  }

  return { resolve, trusts }
}

/**
 * Right to left, skipping trusted hops: the first untrusted address is the client. Only that end is
 * written by our proxies; whatever lies left of it came from the client and may be forged. A hop that is
 * not an address (a misconfigured proxy passing the client's header through) stops the walk at the last
 * trusted hop, so a client cannot mint per-IP keys by writing junk. All hops trusted: the left-most.
 */
function fromForwardedFor(header: string, peer: string, trusts: (address: string) => boolean): string {
  const hops = header.split(',')
  let last = peer
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(stripPort(hops[i]!.trim()))
    if (hop === undefined) return last
    if (!trusts(hop)) return hop
    last = hop
  }
  return last
}

/** Some proxies append a port: "203.0.113.7:51234", "[2001:db8::1]:51234". */
function stripPort(hop: string): string {
  if (hop.startsWith('[')) return hop.slice(1, hop.indexOf(']') === -1 ? undefined : hop.indexOf(']'))
  const colon = hop.indexOf(':')
  return colon !== -1 && colon === hop.lastIndexOf(':') ? hop.slice(0, colon) : hop
}
