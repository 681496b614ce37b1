// Unit tests for src/auth/tokens.ts: hashToken is SHA-256 of the token's UTF-8, byte for byte (the stored form).
import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { generateAuthToken, generateSudoToken, hashToken } from '../../src/auth/tokens.ts'

const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest()

test('hashToken is the SHA-256 digest as a 32-byte Buffer (digests with bytes over 0x7f included)', () => {
  // 'abc' is FIPS 180-2's example; its digest has bytes over 0x7f, which a string round trip must keep.
  assert.is(hashToken('abc').toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  for (const token of [generateAuthToken(), generateSudoToken(), '']) {
    const hashed = hashToken(token)
    assert.ok(Buffer.isBuffer(hashed))
    assert.is(hashed.length, 32)
    assert.ok(hashed.equals(sha256(token)), token)
  }
})

test('hashToken agrees with createHash for any string, non-ASCII too', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (token) => hashToken(token).equals(sha256(token))), { numRuns: 1000 })
})

test.run()
