// AES-256-GCM sealing under the outbox key, for values kept at rest that must be read back (queued
// messages, push tokens). `context` is authenticated, so a sealed value cannot be moved elsewhere.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

// Layout: 12-byte IV ‖ 16-byte tag ‖ ciphertext.
const ivLength = 12
const tagLength = 16

export function seal(key: Buffer, context: string, plain: Buffer): Buffer {
  const iv = randomBytes(ivLength)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(context))
  const body = Buffer.concat([cipher.update(plain), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body])
}

/** Throws when the key or the context differ, or the value was altered. */
export function unseal(key: Buffer, context: string, sealed: Buffer): Buffer {
  if (sealed.length < ivLength + tagLength) throw new Error('sealed value too short')
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, ivLength), { authTagLength: tagLength })
  decipher.setAAD(Buffer.from(context))
  decipher.setAuthTag(sealed.subarray(ivLength, ivLength + tagLength))
  return Buffer.concat([decipher.update(sealed.subarray(ivLength + tagLength)), decipher.final()])
}
