// The client address behind proxies (contract §11), on requests built by hand: which hop is believed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { IncomingMessage } from 'node:http'
import { addressKey, createClientAddressResolver, normalizeAddress } from '../../src/transport/client-address.ts'
import { ConfigError, loadConfig } from '../../src/config.ts'

function request(peer: string, headers: Record<string, string | undefined> = {}): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage
}

const behindProxy = createClientAddressResolver({ trustProxy: ['127.0.0.1/32', '::1/128', '10.0.0.0/8'], ipv6Prefix: 64 })
const noProxy = createClientAddressResolver({ trustProxy: [], ipv6Prefix: 64 })

test('from an untrusted peer every header is ignored', () => {
  assert.is(noProxy.resolve(request('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' })).address, '127.0.0.1')
  assert.is(behindProxy.resolve(request('198.51.100.2', { 'x-forwarded-for': '203.0.113.7' })).address, '198.51.100.2')
  assert.is(noProxy.resolve(request('::ffff:192.0.2.1')).address, '192.0.2.1', 'a dual-stack IPv4 peer is its IPv4 address')
})

test('from a trusted peer: right to left, skipping trusted hops', () => {
  const resolve = (xff: string) => behindProxy.resolve(request('127.0.0.1', { 'x-forwarded-for': xff }))
  assert.is(resolve('203.0.113.7').address, '203.0.113.7')
  assert.is(resolve('1.1.1.1, 203.0.113.7').address, '203.0.113.7', 'what the client wrote on the left is not believed')
  assert.is(resolve('1.1.1.1, 203.0.113.7, 10.1.2.3').address, '203.0.113.7', 'a second trusted proxy is skipped')
  assert.is(resolve('10.9.9.9, 10.1.2.3').address, '10.9.9.9', 'all trusted: the left-most')
  assert.is(resolve('203.0.113.7:51234').address, '203.0.113.7', 'a port is dropped')
  assert.is(resolve('[2001:db8::1]:443').address, '2001:db8::1')
  assert.is(resolve('203.0.113.7, junk').address, '127.0.0.1', 'a hop that is not an address stops at the last trusted hop')
  assert.is(resolve('::ffff:203.0.113.7').address, '203.0.113.7')
  assert.ok(resolve('203.0.113.7').viaTrustedProxy)
  assert.is(behindProxy.resolve(request('127.0.0.1')).address, '127.0.0.1', 'no header: the peer')
})

test('IPv6 clients share a key per /64 (ratelimit.ipv6Prefix)', () => {
  assert.is(addressKey('2001:db8:1:2::a', 64), '2001:db8:1:2::/64')
  assert.is(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff', 64), '2001:db8:1:2::/64')
  assert.is.not(addressKey('2001:db8:1:3::a', 64), addressKey('2001:db8:1:2::a', 64))
  assert.is(addressKey('2001:db8:1:2::a', 128), '2001:db8:1:2::a')
  assert.is(addressKey('2001:db8:1:2::a', 48), '2001:db8:1::/48')
  assert.is(addressKey('203.0.113.7', 64), '203.0.113.7')
  assert.is(behindProxy.resolve(request('::1', { 'x-forwarded-for': '2001:db8:1:2::a' })).key, '2001:db8:1:2::/64')
  assert.is(normalizeAddress('2001:DB8::0:1'), '2001:db8::1')
  assert.is(normalizeAddress('not an address'), undefined)
})

test('a CIDR that does not parse stops start-up naming the key', () => {
  for (const [overrides, key] of [
    [{ server: { trustProxy: ['127.0.0.1/32', 'localhost'] } }, 'server.trustProxy.1'],
    [{ server: { trustProxy: ['10.0.0.0/33'] } }, 'server.trustProxy.0'],
    [{ metrics: { allow: ['::1/129'] } }, 'metrics.allow.0'],
  ] as const) {
    try {
      loadConfig({ overrides: overrides as never })
      assert.unreachable(`${key} accepted`)
    } catch (error) {
      assert.instance(error, ConfigError)
      assert.match((error as Error).message, `config: ${key}: `)
    }
  }
  assert.equal(loadConfig({ overrides: { server: { trustProxy: ['127.0.0.1', '::1/128', '10.0.0.0/8'] } } }).server.trustProxy.length, 3)
})

test.run()
