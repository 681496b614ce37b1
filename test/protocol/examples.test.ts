// protocol.md's examples are one story: each request is replayed in story order against a real server and
// each documented reply and event is compared with what came back, so the examples cannot drift again.
//
// The story is marked in protocol.md with HTML comments (invisible when rendered), before the JSON blocks:
//   <!-- story: step N on SOCKET -->                    the next request block is step N, sent on SOCKET
//   <!-- story: step N on SOCKET sends {…} -->          step N's request, where the document shows only the reply
//   <!-- story: step N on SOCKET, new server {…} -->    step N starts a fresh server with these config overrides
//   <!-- story: step N -->                              the next block repeats step N's request or reply (shown twice)
//   <!-- story: event after N on SOCKET -->             SOCKET has received this event once step N is answered
// Reply blocks right after a request belong to its step. Steps run in numeric order, not document order.
// A step the reader need not see (a second device's request, a scene on another server) is a marked block
// inside an HTML comment: replayed and checked like any other, hidden when the document is rendered.
// Volatile values are matched by shape: tokens, IDs and device-authorization codes are bound to the real
// value the first time a reply carries them and must be that value wherever the document repeats them
// (requests get the real one); timestamps (expiresAt too) are integers; codes are read from the delivery
// transport (a documented wrong code stays wrong).
import { SignJWT, decodeJwt } from 'jose'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Transport } from '../../src/delivery/message.ts'
import type { TestClient } from '../support/client.ts'
import { manualClock, startTestServer, type TestServer } from '../support/server.ts'
import { readStory, Story } from '../support/story.ts'
import { startTestProvider } from '../support/oidc-provider.ts'

/** The identity the story signs in with at its identity provider (protocol.md shows this profile). */
const storyIdentity = { sub: '248289761001', claims: { email: 'romeo@montague.example', email_verified: true, name: 'Romeo Montague' } }

/**
 * A documented ticket with its claims, signed now with the secret the scene's server has for its `iss`
 * (the document cannot show a signature that verifies, nor times that are current).
 */
async function resign(documented: string, t: TestServer, now: number): Promise<string> {
  const claims = decodeJwt(documented)
  const issuer = t.config.tickets.issuers.find((i) => i.iss === claims.iss) as { secret?: string } | undefined
  if (!issuer?.secret) throw new Error(`the story's server has no HS256 issuer ${claims.iss} for the documented ticket`)
  const iat = Math.floor(now / 1000)
  const body = { ...claims, iat, exp: iat + (claims.exp! - claims.iat!) }
  return new SignJWT(body).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(issuer.secret))
}

/** A reply or event wait that fails, saying what it waited for, after 10 s. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within 10 s`)), 10_000)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

test('every example in protocol.md is part of the story, and the story replays against a real server', async () => {
  const { steps, events } = readStory()
  assert.ok(steps.length >= 30, `only ${steps.length} steps`)
  const story = new Story()
  const sent: { code: string }[] = []
  const capture: Transport = { send: async (message) => void sent.push(message) }
  // Rate limits as shipped; the story's clock moves a minute before each code request, as a user waits
  // for `resendAfter` between two codes to one address, and a second before any other step.
  const clock = manualClock()
  // A real OpenID Provider on loopback stands in for every provider a scene configures (their documented
  // issuers, client IDs and secrets are replaced by its own); provider:grant's code comes from signing in there.
  const op = await startTestProvider()
  op.accounts.set(storyIdentity.sub, storyIdentity.claims)
  const authURLs = new Map<string, string>()
  let t: TestServer | undefined
  const sockets = new Map<string, TestClient>()
  const start = async (overrides: Record<string, unknown> = {}) => {
    for (const socket of sockets.values()) socket.terminate()
    sockets.clear()
    await t?.close()
    const providers = overrides.providers as Record<string, object> | undefined
    if (providers) overrides = { ...overrides, providers: Object.fromEntries(Object.keys(providers).map((id) => [id, op.config()])) }
    // The documented node name (server:info), whatever host the story runs on.
    const server = { node: 'node-1', ...(overrides.server as object | undefined) }
    t = await startTestServer({ ratelimit: { enabled: true }, ...overrides, server }, { clock, transports: { email: capture, msisdn: capture } })
  }
  const socket = async (name: string) => {
    let client = sockets.get(name)
    if (!client) {
      client = await t!.connect()
      sockets.set(name, client)
    }
    return client
  }
  try {
    await start()
    for (const step of steps) {
      const label = `step ${step.n} (protocol.md:${step.line}, ${step.request!.type} on ${step.socket})`
      if (step.server) await start(step.server)
      const client = await socket(step.socket)
      // A second between steps, so the order of events shows in timestamps (device:list is oldest first).
      clock.advance(step.request!.type === 'verification:request' ? 61_000 : 1_000)
      const wrongCode = step.replies.some((reply) => reply.payload?.errID === 'invalid_code')
      const request = story.prepare(step.request!, wrongCode, step.n)
      if (typeof request.payload?.ticket === 'string') request.payload.ticket = await resign(request.payload.ticket, t!, clock.now())
      if (request.type === 'provider:grant') {
        const url = authURLs.get(request.payload.state)
        if (url) request.payload.code = (await op.signIn(url, storyIdentity.sub)).get('code')
      }
      const before = sent.length
      const reply = await within(client.request(request.type, request.payload, { id: request.id, to: request.to }), label)
      for (const documented of step.replies) story.match(documented, reply, label)
      if (request.type === 'provider:auth_url' && reply.ok) authURLs.set(reply.payload.state, reply.payload.url)
      // A code sent by this step: remember it for the verificationID the reply carries.
      const verificationID = reply.payload?.verificationID ?? reply.payload?.confirmation?.verificationID
      if (verificationID) {
        await within(t!.server.delivery.drainOnce(), `${label}: delivery`)
        assert.is(sent.length, before + 1, `${label}: one code sent`)
        story.codes.set(verificationID, sent.at(-1)!.code)
      }
      for (const check of events.filter((e) => e.after === step.n)) {
        const on = sockets.get(check.socket)
        assert.ok(on, `protocol.md:${check.line}: no socket ${check.socket} at step ${step.n}`)
        const event = await within(on!.nextEvent(check.event.type), `protocol.md:${check.line}: ${check.event.type} on ${check.socket} after step ${step.n}`)
        story.match(check.event, { ...event, id: check.event.id }, `event at protocol.md:${check.line}`)
      }
    }
    const checked = new Set(steps.map((s) => s.n))
    for (const check of events) assert.ok(checked.has(check.after), `protocol.md:${check.line}: no step ${check.after}`)
  } finally {
    for (const client of sockets.values()) client.terminate()
    await t?.close()
    await op.close()
  }
})

test.run()
