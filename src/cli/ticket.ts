// `hafnium ticket sign`: signs a custom sign-in ticket (contract §13) as an application backend would, so an
// integrator can try profile:login {ticket} from a shell. The key comes from a file or stdin, never argv.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { maxTicketLifeSeconds } from '../accounts/tickets.ts'
import { minSecretBytes, signingKey, type TicketAlg } from '../auth/ticket-keys.ts'
import { ConfigError, loadConfig } from '../config.ts'

const help = `usage: hafnium ticket sign --iss ISS --sub SUB [--aud AUD] [--alg HS256|EdDSA|ES256]
                            [--ttl SECONDS] [--key-file FILE] [--config FILE]

Prints a ticket (a JWT) for profile:login {"ticket": …}. The key is read from --key-file, else from
stdin — never from the command line, where other users could see it (ps):
  HS256   the issuer's shared secret (at least ${minSecretBytes} bytes; one trailing newline is dropped)
  EdDSA   the issuer's Ed25519 private key, PEM
  ES256   the issuer's P-256 private key, PEM
--aud defaults to the first of server.domains (from --config, else server.config.json); --alg to HS256;
--ttl (seconds, 1..${maxTicketLifeSeconds}) to 300. iat is now and jti a random UUID, so each ticket works once.
`

class UsageError extends Error {}

export async function ticket(args: string[]): Promise<number> {
  const [command, ...rest] = args
  if (command !== 'sign') {
    process.stderr.write(command === undefined || command === '--help' || command === '-h' ? help : `hafnium ticket: unknown command "${command}"\n\n${help}`)
    return command === '--help' || command === '-h' ? 0 : 2
  }
  try {
    process.stdout.write((await sign(rest)) + '\n')
    return 0
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`hafnium ticket: ${error.message}\n`)
      return error instanceof UsageError ? 2 : 1
    }
    throw error
  }
}

async function sign(args: string[]): Promise<string> {
  let values
  try {
    ;({ values } = parseArgs({
      args,
      options: {
        iss: { type: 'string' },
        sub: { type: 'string' },
        aud: { type: 'string' },
        alg: { type: 'string', default: 'HS256' },
        ttl: { type: 'string', default: '300' },
        'key-file': { type: 'string' },
        config: { type: 'string' },
      },
      strict: true,
    }))
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (!values.iss) throw new UsageError('--iss is required')
  if (!values.sub || values.sub.length > 255) throw new UsageError('--sub is required (1..255 characters)')
  const alg = values.alg as TicketAlg
  if (!['HS256', 'EdDSA', 'ES256'].includes(alg)) throw new UsageError(`--alg must be HS256, EdDSA or ES256, not ${values.alg}`)
  const ttl = Number(values.ttl)
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > maxTicketLifeSeconds) throw new UsageError(`--ttl must be an integer from 1 to ${maxTicketLifeSeconds}`)
  const aud = values.aud ?? loadConfig(values.config ? { file: values.config } : {}).server.domains[0]!

  const material = values['key-file'] !== undefined ? readKeyFile(values['key-file']) : await readStdin()
  let key
  try {
    key = signingKey(alg, material)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({})
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setIssuer(values.iss)
    .setSubject(values.sub)
    .setAudience(aud)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .setJti(randomUUID())
    .sign(key)
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read --key-file: ${(error as Error).message}`)
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('reading the key from stdin (end with Ctrl-D)…\n')
  let text = ''
  process.stdin.setEncoding('utf8')
  for await (const chunk of process.stdin as AsyncIterable<string>) text += chunk
  if (text === '') throw new UsageError('no key: give --key-file FILE or the key on stdin')
  return text
}
