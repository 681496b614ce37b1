// Sign-in without a password (contract §12–13): guests and custom tickets, each skipped with a reason when the
// server has it off (server:info features) — and, for valid tickets, when the suite was given no issuer key.
import { randomBytes, randomUUID } from 'node:crypto'
import { SignJWT, base64url } from 'jose'
import { signingKey, type TicketAlg } from '../../auth/ticket-keys.ts'
import { expect, expectEqual, expectError, expectMatch, expectOk, patterns } from '../expect.ts'
import { randomName } from '../harness.ts'
import type { Suite } from '../suite.ts'

/** An issuer the suite may sign tickets as: as configured in the server's tickets.issuers, with the private half. */
export interface TicketIssuerOption {
  iss: string
  alg: TicketAlg
  /** The HS256 secret, or the EdDSA/ES256 private key in PEM. */
  key: string
}

const guestChecks = ['guest.ok', 'guest.upgrade']
const ticketChecks = ['ticket.invalid', 'ticket.ok', 'ticket.replay']

export async function signinGroup(s: Suite): Promise<void> {
  const features = s.info?.features
  if (!features) {
    const reason = s.info ? 'server:info has no features (a server without §12–13)' : 'needs server.info'
    for (const name of [...guestChecks, ...ticketChecks]) s.h.skip(name, reason)
    return
  }
  await guests(s, features.guests)
  await tickets(s, features.tickets)
}

async function guests(s: Suite, enabled: boolean): Promise<void> {
  const { h } = s
  if (!enabled) {
    await h.check('guest.reg_disabled', async () => {
      expectError(await h.call(await h.connect(), 'profile:guest', {}), 'reg_disabled')
    })
    for (const name of guestChecks) h.skip(name, 'guests are off on this server (server:info features.guests)')
    return
  }
  const client = await h.connect()
  let guest: { userID: string; deviceID: string } | undefined
  await h.check('guest.ok', async () => {
    const reply = await h.call(client, 'profile:guest', { deviceName: 'conformance guest' })
    const payload = expectOk(reply, 'profile:guest')
    expectMatch(payload.authToken, patterns.authToken, 'authToken')
    expectMatch(payload.deviceID, patterns.deviceID, 'deviceID')
    expectEqual(payload.guest, true, 'guest')
    expectEqual(reply.to, payload.userID, 'reply "to"')
    const own = expectOk(await h.call(client, 'profile:get', {}), 'profile:get')
    expectEqual([own.userID, own.guest, own.username], [payload.userID, true, undefined], 'own profile [userID, guest, username]')
    guest = { userID: payload.userID as string, deviceID: payload.deviceID as string }
  })

  await h.check('guest.upgrade', async () => {
    const username = `cf-${randomName(10)}`
    const password = `Cf-${randomBytes(12).toString('hex')}`
    expectEqual(expectOk(await h.call(client, 'profile:upgrade', { username, password }), 'profile:upgrade'), { userID: guest!.userID }, 'payload (same userID)')
    const own = expectOk(await h.call(client, 'profile:get', {}), 'profile:get')
    expectEqual([own.username, own.guest], [username, undefined], 'own profile after the upgrade [username, guest]')
    const fresh = await h.connect()
    const login = expectOk(await h.call(fresh, 'profile:login', { username, password }), 'profile:login')
    expectEqual(login.userID, guest!.userID, 'userID of a login with the new credentials')
    const devices = expectOk(await h.call(fresh, 'device:list', {}), 'device:list').devices as { deviceID: string }[]
    expect(devices.some((d) => d.deviceID === guest!.deviceID), `the guest's device ${guest!.deviceID} is still listed`)
    expectError(await h.call(fresh, 'profile:upgrade', { username: `cf-${randomName(10)}`, password }), 'forbidden')
  }, { needs: ['guest.ok'] })
}

async function tickets(s: Suite, enabled: boolean): Promise<void> {
  const { h } = s
  if (!enabled) {
    for (const name of ticketChecks) h.skip(name, 'tickets are off on this server (server:info features.tickets)')
    return
  }
  const domain = s.info?.domains[0] ?? h.domain
  await h.check('ticket.invalid', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = base64url.encode(JSON.stringify({ iss: 'conformance', sub: 'x', aud: domain, iat: now, exp: now + 60, jti: randomUUID() }))
    const none = `${base64url.encode(JSON.stringify({ alg: 'none' }))}.${claims}.`
    expectError(await h.call(await h.connect(), 'profile:login', { ticket: none }), 'invalid_token')
    const forged = `${base64url.encode(JSON.stringify({ alg: 'HS256' }))}.${claims}.${base64url.encode(randomBytes(32))}`
    expectError(await h.call(await h.connect(), 'profile:login', { ticket: forged }), 'invalid_token')
  })

  const issuer = s.ticketIssuer
  if (!issuer) {
    for (const name of ['ticket.ok', 'ticket.replay']) h.skip(name, 'needs --ticket-iss and --ticket-key (an issuer the server trusts)')
    return
  }
  let ticket = ''
  await h.check('ticket.ok', async () => {
    const now = Math.floor(Date.now() / 1000)
    ticket = await new SignJWT({})
      .setProtectedHeader({ alg: issuer.alg })
      .setIssuer(issuer.iss)
      .setSubject(`cf-${randomName(12)}`)
      .setAudience(domain)
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomUUID())
      .sign(signingKey(issuer.alg, issuer.key))
    const payload = expectOk(await h.call(await h.connect(), 'profile:login', { ticket, deviceName: 'conformance ticket' }), 'profile:login')
    expectMatch(payload.authToken, patterns.authToken, 'authToken')
  })
  await h.check('ticket.replay', async () => {
    expectError(await h.call(await h.connect(), 'profile:login', { ticket }), 'invalid_token')
  }, { needs: ['ticket.ok'] })
}
