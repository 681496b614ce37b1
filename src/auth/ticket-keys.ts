// The keys of configured ticket issuers (contract §13), parsed and checked once: config validation refuses
// a weak secret or a bad PEM naming the issuer's key, and the verifier reuses the parsed keys.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import type { Config } from '../types/schemas.ts'

export type TicketAlg = 'HS256' | 'EdDSA' | 'ES256'

export interface TicketIssuer {
  iss: string
  alg: TicketAlg
  /** HS256: the secret's bytes; EdDSA/ES256: the public key. */
  key: Uint8Array | KeyObject
}

/** A bad issuer entry: `path` names the config key (tickets.issuers.N.secret). */
export class TicketKeyError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message)
  }
}

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
export const minSecretBytes = 32

const parsed = new WeakMap<object, ReadonlyMap<string, TicketIssuer>>()

/** The configured issuers by `iss`; throws TicketKeyError for the first bad entry. Memoised per config object. */
export function ticketIssuers(tickets: Config['tickets']): ReadonlyMap<string, TicketIssuer> {
  let issuers = parsed.get(tickets)
  if (!issuers) parsed.set(tickets, (issuers = parseIssuers(tickets.issuers)))
  return issuers
}

function parseIssuers(entries: Config['tickets']['issuers']): Map<string, TicketIssuer> {
  const issuers = new Map<string, TicketIssuer>()
  entries.forEach((entry, index) => {
    const at = `tickets.issuers.${index}`
    if (issuers.has(entry.iss)) throw new TicketKeyError(`${at}.iss`, `issuer ${JSON.stringify(entry.iss)} is configured twice`)
    issuers.set(entry.iss, { iss: entry.iss, alg: entry.alg, key: entry.alg === 'HS256' ? secretBytes(entry, at) : publicKey(entry, at) })
  })
  return issuers
}

function secretBytes(entry: { iss: string; secret?: string }, at: string): Uint8Array {
  const bytes = new TextEncoder().encode(entry.secret ?? '')
  if (bytes.length < minSecretBytes) {
    throw new TicketKeyError(`${at}.secret`, `issuer ${JSON.stringify(entry.iss)}: an HS256 secret needs at least ${minSecretBytes} bytes (has ${bytes.length})`)
  }
  return bytes
}

function publicKey(entry: { iss: string; alg: TicketAlg; publicKey?: string }, at: string): KeyObject {
  const pem = entry.publicKey ?? ''
  const fail = (why: string) => new TicketKeyError(`${at}.publicKey`, `issuer ${JSON.stringify(entry.iss)}: ${why}`)
  // createPublicKey would derive the public half of a private key: refuse it, a private key does not belong here.
  if (/PRIVATE KEY/.test(pem)) throw fail('is a private key; configure the public key (PEM, SPKI)')
  let key: KeyObject
  try {
    key = createPublicKey({ key: pem, format: 'pem' })
  } catch (error) {
    throw fail(`is not a PEM public key (${(error as Error).message})`)
  }
  const wanted = entry.alg === 'EdDSA' ? 'ed25519' : 'ec'
  if (key.asymmetricKeyType !== wanted) throw fail(`is a ${key.asymmetricKeyType} key, ${entry.alg} needs ${entry.alg === 'EdDSA' ? 'Ed25519' : 'P-256'}`)
  if (entry.alg === 'ES256' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw fail(`is on curve ${key.asymmetricKeyDetails?.namedCurve}, ES256 needs P-256 (prime256v1)`)
  }
  return key
}

/**
 * The key an issuer signs tickets with (`hafnium ticket sign`, the conformance suite): an HS256 secret
 * (one trailing newline dropped, as a file usually ends) or an Ed25519 / P-256 private key in PEM.
 * Throws an Error saying what is wrong.
 */
export function signingKey(alg: TicketAlg, material: string): Uint8Array | KeyObject {
  if (alg === 'HS256') {
    const secret = new TextEncoder().encode(material.replace(/\r?\n$/, ''))
    if (secret.length < minSecretBytes) throw new Error(`an HS256 secret needs at least ${minSecretBytes} bytes (got ${secret.length})`)
    return secret
  }
  let key: KeyObject
  try {
    key = createPrivateKey({ key: material, format: 'pem' })
  } catch (error) {
    throw new Error(`${alg} needs a PEM private key: ${(error as Error).message}`)
  }
  const wanted = alg === 'EdDSA' ? 'ed25519' : 'ec'
  if (key.asymmetricKeyType !== wanted || (alg === 'ES256' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) {
    throw new Error(`${alg} needs ${alg === 'EdDSA' ? 'an Ed25519' : 'a P-256'} private key, not ${key.asymmetricKeyType}`)
  }
  return key
}
