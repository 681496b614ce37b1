// Identity providers (contract §15): what a client can check without a browser at the provider — the
// authorization URL's shape (code flow, PKCE S256, nonce, state), and the refusals of made-up states and tokens.
import { randomBytes } from 'node:crypto'
import { expect, expectEqual, expectError, expectOk, show } from '../expect.ts'
import type { Suite } from '../suite.ts'

export async function providersGroup(s: Suite): Promise<void> {
  const { h } = s
  // Skipped with a reason, never silently: a server without the types, or without a configured provider.
  const off = s.info && !s.info.types.includes('provider:auth_url') ? 'the server does not list provider:auth_url in server:info types' : undefined
  const configured = (s.info?.features as { providers?: unknown } | undefined)?.providers
  const providerID = Array.isArray(configured) && typeof configured[0] === 'string' ? configured[0] : undefined
  const none = 'no identity provider is configured on this server (server:info features.providers)'
  const unknownID = `cf-none-${randomBytes(4).toString('hex')}`

  await h.check('provider.unknown', async () => {
    if (off) return { skip: off }
    const client = await h.connect()
    expectError(await h.call(client, 'provider:auth_url', { providerID: unknownID }), 'not_found', { type: 'provider:auth_url' })
    expectError(await h.call(client, 'provider:grant', { providerID: unknownID, code: 'cf-code', state: 'cf-state' }), 'not_found')
  })

  await h.check('provider.auth_url', async () => {
    if (off) return { skip: off }
    if (!providerID) return { skip: none }
    const reply = await h.call(await h.connect(), 'provider:auth_url', { providerID })
    if (!reply.ok && (reply.payload as { errID?: string }).errID === 'provider_unavailable') return { skip: `provider ${providerID} is unavailable from the server (provider_unavailable)` }
    const payload = expectOk(reply, 'provider:auth_url')
    let url: URL | undefined
    try {
      url = new URL(String(payload.url))
    } catch {}
    expect(url && /^https?:$/.test(url.protocol), `url must be an http(s) URL, got ${show(payload.url)}`)
    const params = url.searchParams
    expectEqual(params.get('response_type'), 'code', 'response_type (authorization-code flow)')
    expectEqual(params.get('code_challenge_method'), 'S256', 'code_challenge_method (PKCE)')
    expect(/^[A-Za-z0-9_-]{43}$/.test(params.get('code_challenge') ?? ''), `code_challenge must be a S256 challenge, got ${show(params.get('code_challenge'))}`)
    expect((params.get('nonce') ?? '').length >= 16, `nonce must be present and random, got ${show(params.get('nonce'))}`)
    expect(typeof payload.state === 'string' && payload.state.length >= 16, `state must be a random string, got ${show(payload.state)}`)
    expectEqual(params.get('state'), payload.state, 'the URL carries the state answered')
    expect((params.get('scope') ?? '').split(' ').includes('openid'), `scope must include openid, got ${show(params.get('scope'))}`)
  })

  await h.check('provider.grant_unknown_state', async () => {
    if (off) return { skip: off }
    if (!providerID) return { skip: none }
    const state = randomBytes(32).toString('base64url')
    expectError(await h.call(await h.connect(), 'provider:grant', { providerID, code: 'cf-code', state }), 'invalid_token')
  })

  await h.check('provider.login_unknown_token', async () => {
    if (off) return { skip: off }
    expectError(await h.call(await h.connect(), 'profile:login', { providerToken: randomBytes(32).toString('hex') }), 'invalid_token')
  })

  await h.check('provider.unbind_not_linked', async () => {
    if (off) return { skip: off }
    expectError(await h.call(s.account!.main, 'profile:unbind_provider', { providerID: unknownID }), 'not_found')
  }, { needs: ['register.ok'] })
}
