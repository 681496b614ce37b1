// The OpenID Connect relying party (contract §15), on openid-client: discovery, the authorization URL
// (code flow, PKCE S256, state, nonce) and the code grant with the ID token verified by the library.
import { isIP } from 'node:net'
import type * as OpenidClient from 'openid-client'
import type { Config } from '../types/schemas.ts'

export type ProviderConfig = Config['providers'][string]

/** How long one request to a provider may take (discovery, JWKS, token endpoint) unless its timeoutMs says otherwise. */
export const defaultProviderTimeoutMs = 10_000
/** Discovery documents are read again after this long (the JWKS follows rotation by itself, see below). */
const rediscoverAfterMs = 24 * 60 * 60 * 1000
export const defaultScopes = ['openid', 'email', 'profile']

/** The provider could not be reached or answered with a server error: retry later (provider_unavailable). */
export class ProviderUnavailable extends Error {}
/** The provider refused the code, or the response or its ID token failed a check (invalid_token). */
export class ProviderRefused extends Error {}

/** A config value a schema cannot check: issuers are https://, or http:// on a loopback address. */
export class ProviderConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message)
  }
}

export function checkProviders(providers: Config['providers']): void {
  for (const [id, provider] of Object.entries(providers)) {
    const issuer = parseURL(provider.issuer)
    if (!issuer) throw new ProviderConfigError(`providers.${id}.issuer`, 'is not a URL')
    if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer.hostname))) {
      throw new ProviderConfigError(`providers.${id}.issuer`, 'must be https:// (http:// only on a loopback address)')
    }
    if (!parseURL(provider.redirectURI)) throw new ProviderConfigError(`providers.${id}.redirectURI`, 'is not a URL')
  }
}

function parseURL(value: string): URL | undefined {
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return isIP(host) === 6 && host === '::1'
}

export interface AuthorizationRequest {
  url: string
  state: string
  codeVerifier: string
  nonce: string
}

/** The claims of a verified ID token that Hafnium uses. */
export interface VerifiedClaims {
  sub: string
  email?: unknown
  email_verified?: unknown
  name?: unknown
  picture?: unknown
}

export interface RelyingParty {
  authorizationRequest(providerID: string, provider: ProviderConfig): Promise<AuthorizationRequest>
  /** Redeems the code (PKCE verifier, state and nonce checked) and returns the verified ID token's claims. */
  grant(providerID: string, provider: ProviderConfig, response: { code: string; state: string; codeVerifier: string; nonce: string }): Promise<VerifiedClaims>
}

/**
 * One openid-client Configuration per provider, kept in memory: it holds the discovery document and the
 * library's JWKS cache, so keys are fetched once and fetched again when an ID token names an unknown kid
 * (rotation). Caching the Configuration, never the keys, leaves that to the library. A failed discovery
 * is not cached: the next request tries again.
 */
export function createRelyingParty(): RelyingParty {
  const cache = new Map<string, { key: string; at: number; config: Promise<OpenidClient.Configuration> }>()

  async function configuration(providerID: string, provider: ProviderConfig): Promise<OpenidClient.Configuration> {
    const key = JSON.stringify(provider)
    const cached = cache.get(providerID)
    if (cached && cached.key === key && Date.now() - cached.at < rediscoverAfterMs) return cached.config
    const config = discover(provider)
    cache.set(providerID, { key, at: Date.now(), config })
    config.catch(() => {
      if (cache.get(providerID)?.config === config) cache.delete(providerID)
    })
    return config
  }

  return {
    async authorizationRequest(providerID, provider) {
      const config = await configuration(providerID, provider)
      const oidc = await openidClient()
      const state = oidc.randomState()
      const nonce = oidc.randomNonce()
      const codeVerifier = oidc.randomPKCECodeVerifier()
      const scopes = new Set(['openid', ...(provider.scopes ?? defaultScopes)])
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: provider.redirectURI,
        scope: [...scopes].join(' '),
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        ...(provider.responseMode === 'form_post' && { response_mode: 'form_post' }),
      })
      return { url: url.href, state, codeVerifier, nonce }
    },
    async grant(providerID, provider, response) {
      const config = await configuration(providerID, provider)
      const oidc = await openidClient()
      // The authorization response as it reached the redirect URI. The state was the server's (it found the
      // flow), so the issuer is known: it is filled in where the provider sends one (RFC 9207).
      const current = new URL(provider.redirectURI)
      current.searchParams.set('code', response.code)
      current.searchParams.set('state', response.state)
      if (config.serverMetadata().authorization_response_iss_parameter_supported) current.searchParams.set('iss', config.serverMetadata().issuer)
      const tokens = await classify(oidc, () =>
        oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: response.codeVerifier,
          expectedState: response.state,
          expectedNonce: response.nonce,
          idTokenExpected: true,
        }),
      )
      // Only the ID token's claims are used: the access and refresh tokens are dropped here.
      const claims = tokens.claims()
      if (!claims) throw new ProviderRefused('no ID token')
      return claims as VerifiedClaims
    },
  }
}

// Loaded at the first provider sign-in: a server with no providers keeps openid-client out of its heap.
let library: Promise<typeof OpenidClient> | undefined
const openidClient = () => (library ??= import('openid-client'))

async function discover(provider: ProviderConfig): Promise<OpenidClient.Configuration> {
  const issuer = new URL(provider.issuer)
  const oidc = await openidClient()
  const execute = [
    // Verify the ID token's signature against the provider's JWKS even over TLS (the library's default
    // trusts the TLS channel instead): an http:// loopback issuer has none, and the contract asks for it.
    oidc.enableNonRepudiationChecks,
    ...(issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : []),
  ]
  // Any failure here (down, not an OpenID Provider, an issuer that does not match) is the provider's, not the
  // client's: the request cannot go on until the provider or the config is fixed.
  return oidc
    .discovery(issuer, provider.clientID, provider.clientSecret, undefined, { execute, timeout: (provider.timeoutMs ?? defaultProviderTimeoutMs) / 1000 })
    .catch((error: unknown) => {
      throw new ProviderUnavailable(String(error), { cause: error })
    })
}

/** Sorts openid-client's failures into "the provider is down" and "this response is not acceptable". */
async function classify<T>(oidc: typeof OpenidClient, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    throw unavailable(oidc, error) ? new ProviderUnavailable(String(error), { cause: error }) : new ProviderRefused(String(error), { cause: error })
  }
}

function unavailable(oidc: typeof OpenidClient, error: unknown): boolean {
  // fetch's network failures (connection refused, DNS, reset) are TypeErrors.
  if (error instanceof TypeError) return true
  // The provider refusing the server itself (a wrong clientSecret or clientID) is not the user's token failing:
  // every sign-in would fail the same way until the config is fixed.
  if (error instanceof oidc.ResponseBodyError) return error.status >= 500 || error.error === 'invalid_client' || error.error === 'unauthorized_client'
  if (error instanceof oidc.ClientError) {
    if (error.code === 'OAUTH_TIMEOUT' || error.code === 'OAUTH_ABORT') return true
    // A discovery or JWKS response that is not a 200 JSON document: a provider in trouble, not a bad token.
    if (error.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || error.code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
      const status = (error.cause as { status?: unknown } | undefined)?.status
      return typeof status !== 'number' || status >= 500 || status === 404 || status === 429
    }
  }
  return false
}
