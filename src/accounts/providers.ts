// Identity providers (contract §15): start an authorization request, redeem its code for a providerToken.
import { ProviderRefused, ProviderUnavailable, type ProviderConfig } from '../auth/oidc.ts'
import { generateAuthToken, hashToken } from '../auth/tokens.ts'
import { ProtocolError } from '../errors.ts'
import type { Deps } from '../handler.ts'
import { parseThirdPID } from '../identifiers.ts'
import type { ProviderIdentity } from '../store/providers.ts'

/** How long an authorization request (its state) and a providerToken live, in seconds. */
export const providerFlowTtl = 600
export const providerTokenTtl = 600

type ProviderDeps = Pick<Deps, 'config' | 'store' | 'clock' | 'log' | 'oidc'>

/** The configured provider, or not_found. */
export function configuredProvider(deps: Pick<Deps, 'config'>, providerID: string): ProviderConfig {
  const provider = Object.hasOwn(deps.config.providers, providerID) ? deps.config.providers[providerID] : undefined
  if (!provider) throw new ProtocolError('not_found')
  return provider
}

/** provider:auth_url: the provider's authorization URL; the PKCE verifier and nonce stay here, under the state. */
export async function startAuthorization(deps: ProviderDeps, providerID: string): Promise<{ url: string; state: string }> {
  const provider = configuredProvider(deps, providerID)
  const request = await reachProvider(deps, providerID, () => deps.oidc.authorizationRequest(providerID, provider))
  const { state, codeVerifier, nonce } = request
  await deps.store.providers.startFlow(hashToken(state), { providerID, codeVerifier, nonce }, deps.clock.now() + providerFlowTtl * 1000)
  return { url: request.url, state }
}

export interface GrantResult {
  providerToken: string
  expiresIn: number
  profile: { sub: string; email?: string; email_verified?: boolean; name?: string; picture?: string }
  linked: boolean
}

/**
 * provider:grant: takes the state's flow (once: a replay finds nothing), redeems the code with its PKCE
 * verifier and checks the ID token (signature, iss, aud, exp, nonce: openid-client). Any refusal is
 * invalid_token; a provider that cannot be reached is provider_unavailable (the state is spent either way).
 */
export async function redeemCode(deps: ProviderDeps, payload: { providerID: string; code: string; state: string }): Promise<GrantResult> {
  const provider = configuredProvider(deps, payload.providerID)
  const flow = await deps.store.providers.takeFlow(hashToken(payload.state), deps.clock.now())
  if (!flow || flow.providerID !== payload.providerID) throw new ProtocolError('invalid_token')
  const claims = await reachProvider(deps, payload.providerID, () =>
    deps.oidc.grant(payload.providerID, provider, { code: payload.code, state: payload.state, codeVerifier: flow.codeVerifier, nonce: flow.nonce }),
  )
  const identity = toIdentity(payload.providerID, claims)
  const providerToken = generateAuthToken()
  await deps.store.providers.issueToken(hashToken(providerToken), identity, deps.clock.now() + providerTokenTtl * 1000)
  const linked = (await deps.store.providers.linkedAccount(identity.providerID, identity.sub)) !== undefined
  const profile: GrantResult['profile'] = { sub: identity.sub }
  if (identity.email !== null) {
    profile.email = identity.email
    profile.email_verified = identity.emailVerified
  }
  if (identity.name !== null) profile.name = identity.name
  if (identity.picture !== null) profile.picture = identity.picture
  return { providerToken, expiresIn: providerTokenTtl, profile, linked }
}

async function reachProvider<T>(deps: Pick<Deps, 'log'>, providerID: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (error instanceof ProviderUnavailable) {
      deps.log.warn({ providerID, err: error.cause }, 'identity provider unavailable')
      throw new ProtocolError('provider_unavailable')
    }
    if (error instanceof ProviderRefused) {
      deps.log.debug({ providerID, why: error.message }, 'provider response refused')
      throw new ProtocolError('invalid_token')
    }
    throw error
  }
}

/**
 * The verified claims Hafnium keeps, each checked for shape: a claim of the wrong type or size is left out
 * rather than refusing the sign-in. email_verified is true only for a literal true (or Apple's string "true").
 */
function toIdentity(providerID: string, claims: { sub: string; email?: unknown; email_verified?: unknown; name?: unknown; picture?: unknown }): ProviderIdentity {
  if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255) throw new ProtocolError('invalid_token')
  const email = typeof claims.email === 'string' ? parseThirdPID({ type: 'email', value: claims.email }) : null
  const name = typeof claims.name === 'string' && claims.name.length > 0 && claims.name.length <= 256 ? claims.name : null
  const picture = typeof claims.picture === 'string' && claims.picture.length <= 2048 && /^https?:\/\//.test(claims.picture) ? claims.picture : null
  return {
    providerID,
    sub: claims.sub,
    email: email ? email.value : null,
    emailVerified: email !== null && (claims.email_verified === true || claims.email_verified === 'true'),
    name,
    picture,
  }
}
