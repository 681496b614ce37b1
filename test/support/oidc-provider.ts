// A real OpenID Provider for tests: oidc-provider in-process on loopback, one confidential client, its
// development interactions (login, consent) driven over HTTP with a cookie jar like a browser would.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import Provider from 'oidc-provider'
import { within } from './within.ts'

export const clientID = 'hafnium-test'
export const clientSecret = 'a-client-secret-for-the-tests-only'
/** Where the provider sends the browser back; nothing listens there: the scripted login stops at it. */
export const redirectURI = 'http://127.0.0.1:9/callback'

export interface TestAccount {
  email?: string
  email_verified?: boolean | string
  name?: string
}

export interface TestProvider {
  issuer: string
  /** Accounts the provider knows, by sub; tests add to it. */
  accounts: Map<string, TestAccount>
  /** How many times the provider's JWKS has been fetched. */
  readonly jwksFetches: number
  /** Key rotation: a new signing key comes first in the JWKS (the old one stays published); ID tokens are signed with it. */
  rotateKeys(): void
  /** Set to change the token endpoint's JSON answer before it leaves (a tampered ID token). */
  tamperToken: ((body: Record<string, unknown>) => void) | null
  /** The provider's config block for Hafnium's providers config. */
  config(extra?: object): { issuer: string; clientID: string; clientSecret: string; redirectURI: string }
  /**
   * Signs `sub` in at the authorization URL as a browser would and returns the redirect's query (code,
   * state, iss). Each HTTP step is bounded.
   */
  signIn(authURL: string, sub: string): Promise<URLSearchParams>
  close(): Promise<void>
}

export async function startTestProvider(): Promise<TestProvider> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const accounts = new Map<string, TestAccount>()
  const keys = [signingKey()]
  let jwksFetches = 0
  const result: TestProvider = {
    issuer,
    accounts,
    get jwksFetches() {
      return jwksFetches
    },
    rotateKeys() {
      keys.unshift(signingKey())
      serve()
    },
    tamperToken: null,
    config: (extra = {}) => ({ issuer, clientID, clientSecret, redirectURI, ...extra }),
    signIn: (authURL, sub) => signIn(authURL, sub),
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  // A provider instance for the current keys; rotateKeys() swaps in a new one (in-flight sign-ins are lost).
  const serve = () => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientID,
          client_secret: clientSecret,
          redirect_uris: [redirectURI],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      jwks: { keys: keys.map((k) => ({ ...k })) },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      cookies: { keys: ['oidc-test-cookie-key'] },
      pkce: { required: () => true },
      // Scope claims (email, name) in the ID token itself, as Google, Apple and Keycloak send them.
      conformIdTokenClaims: false,
      ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
      features: { devInteractions: { enabled: true } },
      async findAccount(_ctx, sub) {
        const account = accounts.get(sub)
        return account && { accountId: sub, claims: async () => ({ sub, ...account }) as never }
      },
    })
    provider.use(async (ctx, next) => {
      if (ctx.path === '/jwks') jwksFetches++
      await next()
      if (ctx.path === '/token' && ctx.status === 200 && result.tamperToken) result.tamperToken(ctx.body as Record<string, unknown>)
    })
    server.removeAllListeners('request')
    server.on('request', provider.callback())
  }
  serve()
  return result
}

/** An RSA signing key (RS256, the default ID token algorithm) as a private JWK with a fresh kid. */
function signingKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' }
}

/** Follows the provider's redirects, answering the login and consent prompts, until it redirects to redirectURI. */
async function signIn(authURL: string, sub: string): Promise<URLSearchParams> {
  const cookies = new Map<string, string>()
  let url = new URL(authURL)
  let body: URLSearchParams | undefined
  for (let step = 0; step < 12; step++) {
    const response = await within(
      fetch(url, {
        method: body ? 'POST' : 'GET',
        body,
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      }),
      5000,
      `the provider's answer to ${body ? 'POST' : 'GET'} ${url.pathname}`,
    )
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const at = pair!.indexOf('=')
      cookies.set(pair!.slice(0, at), pair!.slice(at + 1))
    }
    const location = response.headers.get('location')
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel()
      url = new URL(location, url)
      body = undefined
      if (url.href.startsWith(redirectURI)) return url.searchParams
      continue
    }
    const html = await response.text()
    if (response.status !== 200) throw new Error(`provider answered ${response.status} at ${url.pathname}: ${html.slice(0, 500)}`)
    // response_mode=form_post: the page POSTs code and state to the redirect URI; read them off the form.
    if (html.includes(`action="${redirectURI}"`)) {
      return new URLSearchParams([...html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"\/>/g)].map((m) => [m[1]!, m[2]!.replace(/&#x2F;/g, '/').replace(/&amp;/g, '&')]))
    }
    // A development interaction page: answer its prompt the way its form would.
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1]
    if (prompt === 'login') body = new URLSearchParams({ prompt: 'login', login: sub, password: 'any' })
    else if (prompt === 'consent') body = new URLSearchParams({ prompt: 'consent' })
    else throw new Error(`unexpected page at ${url.pathname}: ${html.slice(0, 500)}`)
  }
  throw new Error('the provider did not redirect back within 12 steps')
}

/** Runs a whole sign-in for `sub` through Hafnium (auth_url, the provider's login, grant) and answers the grant's reply. */
export async function grantFor(
  client: { request(type: string, payload?: unknown): Promise<{ ok: boolean; payload: any }> },
  op: TestProvider,
  sub: string,
  options: { providerID?: string; edit?: (url: URL) => void } = {},
) {
  const providerID = options.providerID ?? 'test'
  const start = await client.request('provider:auth_url', { providerID })
  if (!start.ok) throw new Error(`provider:auth_url refused: ${JSON.stringify(start.payload)}`)
  const url = new URL(start.payload.url)
  options.edit?.(url)
  const back = await op.signIn(url.href, sub)
  const reply = await client.request('provider:grant', { providerID, code: back.get('code'), state: back.get('state') })
  return { reply, code: back.get('code')!, state: back.get('state')! }
}
