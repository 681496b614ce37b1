// Unit tests for src/auth/passwords.ts: argon2id hashing, dummy verify, rehash, busy limit, password policy.
import { readFileSync } from 'node:fs'
import { parseOptions } from '@node-rs/argon2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkPasswordPolicy, createPasswordHasher, HasherBusyError } from '../../src/auth/passwords.ts'
import type { PasswordParams } from '../../src/auth/passwords.ts'

// Far below the production floor, to keep the suite fast; the code path is the same.
const cheap: PasswordParams = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
const hasher = (params = cheap, maxConcurrent = 4, maxQueued = 16) =>
  createPasswordHasher({ params, maxConcurrent, maxQueued })

test('hash and verify round trip, argon2id with the given params', async () => {
  const h = hasher()
  const stored = await h.hash('correct horse battery staple')
  assert.match(stored, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)
  assert.not.match(stored, /correct horse/)
  assert.equal(await h.verify(stored, 'correct horse battery staple'), { ok: true, needsRehash: false })
  assert.is(h.evaluations, 2)
})

test('each hash has its own salt', async () => {
  const h = hasher()
  const a = await h.hash('same password twice')
  const b = await h.hash('same password twice')
  assert.is.not(a.split('$')[4], b.split('$')[4])
})

test('wrong password, a truncated one and a case-folded one fail', async () => {
  const h = hasher()
  const stored = await h.hash('Correct Horse Battery Staple')
  assert.equal(await h.verify(stored, 'Correct Horse Battery Stapl'), { ok: false, needsRehash: false })
  assert.equal(await h.verify(stored, 'correct horse battery staple'), { ok: false, needsRehash: false })
  assert.equal(await h.verify(stored, 'Correct Horse Battery Staple!'), { ok: false, needsRehash: false })
})

test('NFKC: precomposed é and e + combining acute verify against each other, both ways', async () => {
  const h = hasher()
  const composed = 'caf\u00e9 au lait'
  const decomposed = 'cafe\u0301 au lait'
  assert.is.not(composed, decomposed)
  assert.ok((await h.verify(await h.hash(composed), decomposed)).ok)
  assert.ok((await h.verify(await h.hash(decomposed), composed)).ok)
  // Compatibility folding too: the ﬁ ligature (U+FB01) is "fi".
  assert.ok((await h.verify(await h.hash('\ufb01sh'), 'fish')).ok)
})

test('verify(null) is false and costs exactly one argon2 evaluation, from the first call on', async () => {
  const h = hasher()
  assert.is(h.evaluations, 0)
  assert.equal(await h.verify(null, 'anything at all'), { ok: false, needsRehash: false })
  assert.is(h.evaluations, 1)
  assert.equal(await h.verify(null, ''), { ok: false, needsRehash: false })
  assert.is(h.evaluations, 2)
})

test('needsRehash is true once the params change, and only after a correct password', async () => {
  const stored = await hasher().hash('a long enough passphrase')
  const stronger = hasher({ memoryCost: 2048, timeCost: 1, parallelism: 1 })
  assert.equal(await stronger.verify(stored, 'a long enough passphrase'), { ok: true, needsRehash: true })
  assert.equal(await stronger.verify(stored, 'not the passphrase'), { ok: false, needsRehash: false })
  for (const params of [
    { memoryCost: 1024, timeCost: 2, parallelism: 1 },
    { memoryCost: 1024, timeCost: 1, parallelism: 2 },
  ]) {
    assert.ok((await hasher(params).verify(stored, 'a long enough passphrase')).needsRehash, JSON.stringify(params))
  }
  const rehashed = await stronger.hash('a long enough passphrase')
  assert.is(parseOptions(rehashed).memoryCost, 2048)
  assert.equal(await stronger.verify(rehashed, 'a long enough passphrase'), { ok: true, needsRehash: false })
})

test('maxConcurrent 1, maxQueued 0: a second concurrent hash is refused at once with HasherBusyError', async () => {
  const h = hasher(cheap, 1, 0)
  const first = h.hash('first password')
  const second = h.hash('second password')
  const err = await second.then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.instance(err, HasherBusyError)
  assert.match(await first, /^\$argon2id\$/)
  assert.is(h.evaluations, 1) // the refused call ran no argon2
  // The slot is free again afterwards.
  assert.match(await h.hash('third password'), /^\$argon2id\$/)
})

test('queued calls wait and all complete; beyond the queue they are refused', async () => {
  const h = hasher(cheap, 1, 2)
  const calls = ['p1', 'p2', 'p3', 'p4'].map((p) => h.hash(p))
  const settled = await Promise.allSettled(calls)
  assert.equal(
    settled.map((s) => s.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
  )
  assert.instance((settled[3] as PromiseRejectedResult).reason, HasherBusyError)
  assert.is(h.evaluations, 3)
})

test('policy: length in code points after NFKC, bounds inclusive', () => {
  const opts = { minLength: 15, maxLength: 128, context: [] }
  assert.is(checkPasswordPolicy('quiet river stone', opts), null)
  assert.is(checkPasswordPolicy('quiet riverbend', opts), null) // exactly 15
  assert.is(checkPasswordPolicy('quiet riverben', opts), 'too_short') // 14
  // 🐟 is one code point but two UTF-16 units: 13 letters + 1 emoji is 14 code points (15 .length).
  const fish14 = 'quiet riverbe🐟'
  assert.is(fish14.length, 15)
  assert.is(checkPasswordPolicy(fish14, opts), 'too_short')
  assert.is(checkPasswordPolicy('quiet riverben🐟', opts), null) // 15 code points
  // e + U+0301 is two code points before NFKC, one after.
  assert.is(checkPasswordPolicy('quiet riverbe\u0301n', opts), 'too_short')
  assert.is(checkPasswordPolicy('quiet river sto'.padEnd(128, 'z'), opts), null)
  assert.is(checkPasswordPolicy('quiet river sto'.padEnd(129, 'z'), opts), 'too_long')
  assert.is(checkPasswordPolicy('🐟'.repeat(64) + 'quiet river stone'.repeat(4), opts), 'too_long') // 132
})

test('policy: maxLength defaults to 256', () => {
  const opts = { minLength: 8, context: [] }
  assert.is(checkPasswordPolicy('quiet river sto'.padEnd(256, 'z'), opts), null)
  assert.is(checkPasswordPolicy('quiet river sto'.padEnd(257, 'z'), opts), 'too_long')
})

test('policy: list entries are refused whatever their case; one repeated character is refused', () => {
  const opts = { minLength: 1, context: [] }
  for (const p of ['password', 'PassWord', 'qwerty123', 'iloveyou', 'trustno1', '1q2w3e4r']) {
    assert.is(checkPasswordPolicy(p, opts), 'common', p)
  }
  for (const p of ['aaaaaaaaaaaaaaaa', '🐟🐟🐟🐟🐟🐟🐟🐟', 'ZZZZZZZZZZZZZZZZZ', 'zZzZzZzZzZzZzZzZ']) {
    assert.is(checkPasswordPolicy(p, opts), 'common', p)
  }
  assert.is(checkPasswordPolicy('aaaaaaaaaaaaaaab', opts), null)
  assert.is(checkPasswordPolicy('correct horse battery staple', opts), null)
})

test('policy: a spread sample of the shipped list is refused (minLength 1 so length does not decide)', () => {
  const entries = readFileSync(new URL('../../data/common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
  assert.ok(entries.length >= 3000, `only ${entries.length} entries`)
  assert.is(new Set(entries).size, entries.length, 'entries are unique')
  assert.ok(entries.every((e) => e === e.toLowerCase()), 'entries are lowercase')
  const step = Math.floor(entries.length / 50)
  for (let i = 0; i < entries.length; i += step) {
    const entry = entries[i]!
    assert.is(checkPasswordPolicy(entry, { minLength: 1, context: [] }), 'common', entry)
    assert.is(checkPasswordPolicy(entry.toUpperCase(), { minLength: 1, context: [] }), 'common', entry)
  }
})

test('policy: context words (≥ 4 code points) refused when equal or contained, case-insensitively', () => {
  const opts = { minLength: 8, context: ['Marguerite', 'marguerite@example.org', 'marguerite', 'Hafnium'] }
  assert.is(checkPasswordPolicy('marguerite', opts), 'context')
  assert.is(checkPasswordPolicy('MyNameIsMarguerite!!', opts), 'context')
  assert.is(checkPasswordPolicy('marguerite@example.org', opts), 'context')
  assert.is(checkPasswordPolicy('welcome to hafnium server', opts), 'context')
  assert.is(checkPasswordPolicy('quiet river stone', opts), null)
  // Words under 4 code points only match exactly, so a short name does not refuse everything.
  const short = { minLength: 3, context: ['bob', ''] }
  assert.is(checkPasswordPolicy('bob', short), 'context')
  assert.is(checkPasswordPolicy('bobsled runs downhill', short), null)
})

test('policy: verdict order is length, then common, then context', () => {
  assert.is(checkPasswordPolicy('password', { minLength: 15, context: ['password'] }), 'too_short')
  assert.is(checkPasswordPolicy('password', { minLength: 8, context: ['password'] }), 'common')
})

test.run()
