/**
 * provider:auth_url — the authorization URL of a configured OpenID Connect provider (contract §15):
 * authorization-code flow with PKCE (S256) and a nonce; the verifier and nonce stay on the server under
 * the returned state (single use, 10 minutes).
 * - not_found: no provider with that providerID in config.providers
 * - provider_unavailable: its discovery document could not be read (down, unreachable, not an OpenID
 *   Provider); bounded by the 10 s request timeout
 * - charged to provider_ip (each request may reach the provider)
 */
import { startAuthorization } from '../../accounts/providers.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'provider:auth_url',
  auth: 'none',
  handle: (ctx) => startAuthorization(ctx, ctx.payload.providerID),
})
