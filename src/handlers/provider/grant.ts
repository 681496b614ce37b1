/**
 * provider:grant — redeem the code the provider sent to the redirect URI for a providerToken (contract §15).
 * - the state must be one provider:auth_url issued for this providerID, unused and under 10 minutes old;
 *   it is spent by this request whatever the outcome
 * - the ID token is verified by openid-client: signature (the provider's JWKS), iss, aud, exp, nonce
 * - invalid_token: unknown, used or expired state, another provider's state, a code the provider refuses
 *   (used, wrong PKCE verifier), an ID token that fails a check
 * - provider_unavailable: the provider could not be reached, answered with a server error, or refused the
 *   server's client credentials (invalid_client: a config error, logged)
 * - not_found: no provider with that providerID
 * - the providerToken lives 10 minutes, works once (profile:login or profile:bind_provider) and is stored
 *   hashed; the provider's access and refresh tokens are not kept
 */
import { redeemCode } from '../../accounts/providers.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'provider:grant',
  auth: 'none',
  handle: (ctx) => redeemCode(ctx, ctx.payload),
})
