// Canonical forms of usernames, 3PIDs (email, msisdn) and user IDs, and their blurred display forms (contract §4).

/** The stored, canonical username (contract §4, Cadmium §2.2). Shared with code that checks canonical names. */
export const USERNAME_PATTERN = '^[a-z0-9._=\\-/]{1,64}$'

/**
 * What a client may send before case folding; must equal `username.pattern` in schemas/defs.json
 * (a test checks), because JSON Schema patterns take no `i` flag and the schema runs before folding.
 */
export const USERNAME_INPUT_PATTERN = '^[A-Za-z0-9._=\\-/]{1,64}$'

const usernameInput = new RegExp(USERNAME_INPUT_PATTERN)
const username = new RegExp(USERNAME_PATTERN)

/**
 * The canonical username, or null when the input is not a valid username in any case.
 * ASCII is tested *before* folding: `toLowerCase` maps some non-ASCII letters onto ASCII
 * (KELVIN SIGN U+212A → `k`), and one spelling per name keeps uniqueness honest
 * (reliability ID-1..ID-4; Cyrillic `а` and fullwidth letters are refused, never mapped).
 */
export function normaliseUsername(input: string): string | null {
  if (!usernameInput.test(input)) return null
  const folded = input.toLowerCase()
  return username.test(folded) ? folded : null
}

export type ThirdPID = { type: 'email' | 'msisdn'; value: string }

// Whitespace, controls, format characters (U+200B, U+202E bidi override) and lone surrogates:
// invisible or ambiguous in an address a human must recognise (reliability ID-4).
const unsafeChar = /[\s\p{Cc}\p{Cf}\p{Cs}]/u

/**
 * The canonical email address (trimmed, lowercased as a whole because contract §4 compares
 * emails case-insensitively), or null. Limits are RFC 5321's: local part ≤ 64, path ≤ 254.
 * Lengths are measured after lowercasing, which can lengthen a string (U+0130 → 2 units),
 * so that the function stays idempotent.
 */
export function normaliseEmail(input: string): string | null {
  const email = input.trim().toLowerCase()
  if (email.length > 254 || unsafeChar.test(email)) return null
  const parts = email.split('@')
  if (parts.length !== 2) return null
  const [local = '', domain = ''] = parts
  if (local.length === 0 || local.length > 64) return null
  // At least two labels, none empty: `a@.com`, `a@com.` and `a@b..c` cannot be delivered.
  const labels = domain.split('.')
  if (labels.length < 2 || labels.some((label) => label.length === 0)) return null
  return email
}

// Punctuation people write inside phone numbers: `+1 (234) 567-89.00`.
const phoneSeparators = /[ \-.()]/g
const e164 = /^\+[1-9][0-9]{6,14}$/

/** The E.164 form `+digits` (7..15 digits, no leading 0: ITU-T E.164 country codes start 1–9), or null. */
export function normaliseMsisdn(input: string): string | null {
  const msisdn = input.trim().replace(phoneSeparators, '')
  return e164.test(msisdn) ? msisdn : null
}

/**
 * A normalised 3PID, or null. A string's type is inferred as in contract §4: containing `@`
 * → email, starting with `+` → msisdn. An object is checked at run time too, since it may
 * come from an untrusted payload.
 */
export function parseThirdPID(input: string | ThirdPID): ThirdPID | null {
  if (typeof input === 'string') {
    const text = input.trim()
    if (text.includes('@')) return wrap('email', normaliseEmail(text))
    if (text.startsWith('+')) return wrap('msisdn', normaliseMsisdn(text))
    return null
  }
  if (typeof input !== 'object' || input === null || typeof input.value !== 'string') return null
  if (input.type === 'email') return wrap('email', normaliseEmail(input.value))
  if (input.type === 'msisdn') return wrap('msisdn', normaliseMsisdn(input.value))
  return null
}

function wrap(type: ThirdPID['type'], value: string | null): ThirdPID | null {
  return value === null ? null : { type, value }
}

/**
 * `bill@example.com` → `bi*****@*****.com`: at most two characters of the local part (one when
 * it has only one or two), then fixed runs of five stars so the output's length leaks nothing
 * about the address, then the domain's last label. Counts code points, so an astral character
 * is never cut in half. Expects a normalised address.
 */
export function blurEmail(email: string): string {
  const at = email.lastIndexOf('@')
  const local = Array.from(at === -1 ? email : email.slice(0, at))
  const domain = at === -1 ? '' : email.slice(at + 1)
  const dot = domain.lastIndexOf('.')
  const shown = local.slice(0, local.length > 2 ? 2 : 1).join('')
  return `${shown}*****@*****${dot === -1 ? '' : domain.slice(dot)}`
}

/** `+1234567890` → `*********90`: only the last two characters survive (contract §5 profile:contact_hint). */
export function blurMsisdn(msisdn: string): string {
  const chars = Array.from(msisdn)
  const kept = chars.slice(-2)
  return '*'.repeat(chars.length - kept.length) + kept.join('')
}

/** `@<localpart>@<domain>` (contract §4). The caller passes a canonical localpart. */
export function formatUserID(localpart: string, domain: string): string {
  return `@${localpart}@${domain}`
}

/** Splits `@<localpart>@<domain>`; null unless both parts are non-empty and neither holds an `@`. */
export function parseUserID(id: string): { localpart: string; domain: string } | null {
  const parts = id.split('@')
  if (parts.length !== 3) return null
  const [lead, localpart = '', domain = ''] = parts
  if (lead !== '' || localpart === '' || domain === '') return null
  return { localpart, domain }
}
