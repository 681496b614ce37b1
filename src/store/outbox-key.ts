// The 32-byte key that seals outbox rows: from HAFNIUM_OUTBOX_KEY, else `<db>.key` (created 0600 on first start).
import { randomBytes } from 'node:crypto'
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'

const hexKey = /^[0-9a-f]{64}$/i

/**
 * The key file sits beside the database, so it protects a database file (or a backup of it) that leaks
 * on its own, not a leaked directory; HAFNIUM_OUTBOX_KEY keeps the key elsewhere. A ':memory:' database
 * lives as long as the process, so a random key does too.
 */
export function loadOutboxKey(dbPath: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env.HAFNIUM_OUTBOX_KEY
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!hexKey.test(fromEnv)) throw new Error('HAFNIUM_OUTBOX_KEY must be 64 hexadecimal characters (32 bytes)')
    return Buffer.from(fromEnv, 'hex')
  }
  if (dbPath === ':memory:') return randomBytes(32)
  const path = `${dbPath}.key`
  return readKeyFile(path) ?? createKeyFile(path)
}

function readKeyFile(path: string): Buffer | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  if (!hexKey.test(text)) throw new Error(`outbox key file ${path} must hold 64 hexadecimal characters`)
  return Buffer.from(text, 'hex')
}

/** Written to a temporary name, then linked into place: a concurrent starter never reads half a key. */
function createKeyFile(path: string): Buffer {
  const key = randomBytes(32)
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(temporary, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  try {
    linkSync(temporary, path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    // Another process created it first: use theirs.
    return readKeyFile(path)!
  } finally {
    unlinkSync(temporary)
  }
  return key
}
