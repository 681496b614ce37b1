// Unit and property tests for src/identifiers.ts: canonical usernames, 3PIDs, user IDs and blurring.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  USERNAME_INPUT_PATTERN,
  USERNAME_PATTERN,
  blurEmail,
  blurMsisdn,
  formatUserID,
  normaliseEmail,
  normaliseMsisdn,
  normaliseUsername,
  parseThirdPID,
  parseUserID,
} from '../../src/identifiers.ts'

// Runs sized so the whole file stays well under 2 s; reliability ID-2 asks ≥ 10⁵ for a one-off soak.
const runs = { numRuns: 1000 }
const anyText = fc.string({ unit: 'binary', maxLength: 80 })

// ── usernames ────────────────────────────────────────────────────────────────

test('username: valid names pass unchanged', () => {
  for (const name of ['alice', 'a', 'bob.smith', 'x_y=z-w/v', '0123456789']) {
    assert.is(normaliseUsername(name), name)
  }
})

test('username: case is folded', () => {
  assert.is(normaliseUsername('Alice'), 'alice')
  assert.is(normaliseUsername('ALICE'), 'alice')
  assert.is(normaliseUsername('Bob.Smith/X'), 'bob.smith/x')
})

test('username: 64 characters pass, 65 and empty do not', () => {
  assert.is(normaliseUsername('a'.repeat(64)), 'a'.repeat(64))
  assert.is(normaliseUsername('a'.repeat(65)), null)
  assert.is(normaliseUsername('A'.repeat(65)), null)
  assert.is(normaliseUsername(''), null)
  assert.is(normaliseUsername('a'.repeat(1000)), null)
})

test('username: lookalikes, invisibles and other characters are refused (reliability ID-3, ID-4)', () => {
  const refused = [
    '\u0430lice', // Cyrillic а
    'al\u0456ce', // Cyrillic і
    'ＡＬＩＣＥ', // fullwidth
    '\u212Aate', // KELVIN SIGN lowercases to ASCII k; refused rather than mapped
    'ᴮᴵᴳᴮᴵᴿᴰ', // Spotify 2013
    'al\u200Bice',
    'al\u202Eice',
    'al\u0000ice',
    'alice\n',
    ' alice',
    'alice bob',
    'al@ice',
    'al:ice',
    'al+ice',
    'ali\u0301ce',
  ]
  for (const name of refused) assert.is(normaliseUsername(name), null, JSON.stringify(name))
})

test('username: the exported patterns agree with each other and with schemas/defs.json', () => {
  const defs = JSON.parse(readFileSync(new URL('../../schemas/defs.json', import.meta.url), 'utf8'))
  assert.is(defs.$defs.username.pattern, USERNAME_INPUT_PATTERN)
  assert.is(USERNAME_INPUT_PATTERN.replace('A-Za-z', 'a-z'), USERNAME_PATTERN)
})

test('username: normalising is idempotent and lands in USERNAME_PATTERN (property, ID-2)', () => {
  const canonical = new RegExp(USERNAME_PATTERN)
  const check = (x: string) => {
    const once = normaliseUsername(x)
    if (once === null) return
    assert.is(normaliseUsername(once), once)
    assert.ok(canonical.test(once))
  }
  fc.assert(fc.property(anyText, check), runs)
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), check), runs)
  fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9._=\-/]{1,70}$/), check), runs)
})

// ── email ────────────────────────────────────────────────────────────────────

test('email: valid addresses are trimmed and lowercased', () => {
  assert.is(normaliseEmail('bill@example.com'), 'bill@example.com')
  assert.is(normaliseEmail('  Bill.Gates+tag@Example.COM \n'), 'bill.gates+tag@example.com')
  assert.is(normaliseEmail('a@b.co'), 'a@b.co')
})

test('email: local part 64 passes, 65 does not; total 254 passes, 255 does not', () => {
  assert.is(normaliseEmail(`${'a'.repeat(64)}@example.com`), `${'a'.repeat(64)}@example.com`)
  assert.is(normaliseEmail(`${'a'.repeat(65)}@example.com`), null)
  const domain254 = `${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(60)}` // 252 characters
  assert.is(`a@${domain254}`.length, 254)
  assert.ok(normaliseEmail(`a@${domain254}`))
  assert.is(normaliseEmail(`ab@${domain254}`), null)
})

test('email: malformed addresses are refused', () => {
  const refused = [
    '',
    '   ',
    'bill',
    'bill@',
    '@example.com',
    'bill@example',
    'bill@@example.com',
    'bill@ex@ample.com',
    'bill@.com',
    'bill@example.',
    'bill@example..com',
    'bi ll@example.com',
    'bill@exa mple.com',
    'bill\t@example.com',
    'bill\u0000@example.com',
    'bill\u200B@example.com',
    'bill\u202E@example.com',
  ]
  for (const email of refused) assert.is(normaliseEmail(email), null, JSON.stringify(email))
})

test('email: normalising is idempotent (property)', () => {
  const check = (x: string) => {
    const once = normaliseEmail(x)
    if (once !== null) assert.is(normaliseEmail(once), once)
  }
  fc.assert(fc.property(anyText, check), runs)
  const mixedCase = fc.tuple(fc.emailAddress(), fc.boolean()).map(([e, up]) => (up ? e.toUpperCase() : ` ${e} `))
  fc.assert(
    fc.property(mixedCase, (x) => {
      check(x)
      // fast-check's addresses are RFC-valid; ours must accept those within the length limits.
      const email = x.trim().toLowerCase()
      if (email.length <= 254 && email.split('@')[0]!.length <= 64) assert.is(normaliseEmail(x), email)
    }),
    runs,
  )
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => `${s}@${s}.${s}`), check), runs)
})

// ── msisdn ───────────────────────────────────────────────────────────────────

test('msisdn: E.164 numbers pass; spaces, dashes, dots and parentheses are stripped', () => {
  assert.is(normaliseMsisdn('+1234567890'), '+1234567890')
  assert.is(normaliseMsisdn('+44 20 7946 0958'), '+442079460958')
  assert.is(normaliseMsisdn(' +1 (555) 123-45.67 '), '+15551234567')
  assert.is(normaliseMsisdn('+1234567'), '+1234567') // 7 digits
  assert.is(normaliseMsisdn('+123456789012345'), '+123456789012345') // 15 digits
})

test('msisdn: malformed numbers are refused', () => {
  const refused = [
    '',
    '+',
    '1234567890', // no +
    '+0123456789', // country codes never start with 0
    '+123456', // 6 digits
    '+1234567890123456', // 16 digits
    '++1234567890',
    '+12345a7890',
    '+1234567890+',
    '+١٢٣٤٥٦٧٨٩', // Arabic-Indic digits
    '+１２３４５６７８９', // fullwidth digits
    '+123/456/7890',
    '+123\u200B4567890',
  ]
  for (const msisdn of refused) assert.is(normaliseMsisdn(msisdn), null, JSON.stringify(msisdn))
})

test('msisdn: normalising is idempotent (property)', () => {
  const check = (x: string) => {
    const once = normaliseMsisdn(x)
    if (once !== null) assert.is(normaliseMsisdn(once), once)
  }
  fc.assert(fc.property(anyText, check), runs)
  fc.assert(fc.property(fc.stringMatching(/^\+[0-9 ().-]{5,20}$/), check), runs)
})

// ── 3PIDs ────────────────────────────────────────────────────────────────────

test('parseThirdPID: strings are typed by their shape', () => {
  assert.equal(parseThirdPID(' Bill@Example.com '), { type: 'email', value: 'bill@example.com' })
  assert.equal(parseThirdPID(' +1 234 567 890 '), { type: 'msisdn', value: '+1234567890' })
  assert.is(parseThirdPID('1234567890'), null)
  assert.is(parseThirdPID('bill'), null)
  assert.equal(parseThirdPID('+12@example.com'), { type: 'email', value: '+12@example.com' }) // `@` wins over `+`
  assert.is(parseThirdPID('bill@example'), null)
  assert.is(parseThirdPID('+0123456789'), null)
})

test('parseThirdPID: objects are normalised by their type', () => {
  assert.equal(parseThirdPID({ type: 'email', value: 'BILL@example.com' }), { type: 'email', value: 'bill@example.com' })
  assert.equal(parseThirdPID({ type: 'msisdn', value: '+1 234-567-890' }), { type: 'msisdn', value: '+1234567890' })
  assert.is(parseThirdPID({ type: 'email', value: '+1234567890' }), null)
  assert.is(parseThirdPID({ type: 'msisdn', value: 'bill@example.com' }), null)
  // Untrusted payloads may not match the static type.
  assert.is(parseThirdPID({ type: 'fax', value: '+1234567890' } as never), null)
  assert.is(parseThirdPID({ type: 'email', value: 42 } as never), null)
  assert.is(parseThirdPID(null as never), null)
})

// ── blurring ─────────────────────────────────────────────────────────────────

test('blurEmail: two characters, five stars, the last domain label', () => {
  assert.is(blurEmail('bill@example.com'), 'bi*****@*****.com')
  assert.is(blurEmail('julia@mail.example.co.uk'), 'ju*****@*****.uk')
  assert.is(blurEmail('abc@x.org'), 'ab*****@*****.org')
  assert.is(blurEmail('ab@x.org'), 'a*****@*****.org')
  assert.is(blurEmail('a@x.org'), 'a*****@*****.org')
  assert.is(blurEmail('😀😁😂@x.org'), '😀😁*****@*****.org') // code points, not UTF-16 halves
})

test('blurMsisdn: only the last two characters survive', () => {
  assert.is(blurMsisdn('+1234567890'), '*********90')
  assert.is(blurMsisdn('+1234567'), '******67')
})

test('blurEmail: reveals at most two characters of the local part and the last label (property)', () => {
  fc.assert(
    fc.property(fc.emailAddress(), (address) => {
      const email = normaliseEmail(address)
      if (email === null) return
      const [local = '', domain = ''] = email.split('@')
      const blurred = blurEmail(email)
      const tld = domain.slice(domain.lastIndexOf('.'))
      assert.ok(blurred.endsWith(`*****@*****${tld}`), blurred)
      const shown = blurred.slice(0, blurred.length - `*****@*****${tld}`.length)
      assert.ok(Array.from(shown).length <= 2, blurred)
      assert.ok(Array.from(shown).length < Array.from(local).length || local.length === 1, blurred)
      assert.ok(local.startsWith(shown), blurred)
    }),
    runs,
  )
})

test('blurMsisdn: reveals only the last two digits (property)', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^\+[1-9][0-9]{6,14}$/), (msisdn) => {
      const blurred = blurMsisdn(msisdn)
      assert.is(blurred.length, msisdn.length)
      assert.is(blurred.slice(0, -2), '*'.repeat(msisdn.length - 2))
      assert.is(blurred.slice(-2), msisdn.slice(-2))
    }),
    runs,
  )
})

// ── user IDs ─────────────────────────────────────────────────────────────────

test('user IDs: format and parse', () => {
  assert.is(formatUserID('alice', 'cadmium.org'), '@alice@cadmium.org')
  assert.equal(parseUserID('@alice@cadmium.org'), { localpart: 'alice', domain: 'cadmium.org' })
  assert.equal(parseUserID('@x7Kq2@localhost'), { localpart: 'x7Kq2', domain: 'localhost' })
  for (const id of ['', '@', '@@', 'alice@cadmium.org', '@alice', '@@cadmium.org', '@alice@', 'x@alice@cadmium.org', '@al@ice@cadmium.org']) {
    assert.is(parseUserID(id), null, JSON.stringify(id))
  }
})

test('user IDs: parseUserID inverts formatUserID (property)', () => {
  const part = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => !s.includes('@'))
  fc.assert(
    fc.property(part, part, (localpart, domain) => {
      assert.equal(parseUserID(formatUserID(localpart, domain)), { localpart, domain })
    }),
    runs,
  )
})

test.run()
