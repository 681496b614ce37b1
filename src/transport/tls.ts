// Native TLS (contract §11): the PEM files are read at start and again on SIGHUP, so a renewed
// certificate is served to new connections without a restart.
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { ConfigError } from '../config.ts'

export interface TlsFiles {
  cert: string
  key: string
}

export interface TlsMaterial {
  cert: Buffer
  key: Buffer
}

/** Reads both files and checks they make a usable context (a key that does not match the cert is refused). */
export function readTls(files: TlsFiles): TlsMaterial {
  const material = { cert: readPem(files.cert, 'server.tls.cert'), key: readPem(files.key, 'server.tls.key') }
  try {
    createSecureContext(material)
  } catch (error) {
    throw new ConfigError(`config: server.tls: ${files.cert} and ${files.key} are not a usable certificate and key: ${(error as Error).message}`)
  }
  return material
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new ConfigError(`config: ${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}
