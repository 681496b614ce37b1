// `hafnium ticket sign`: signs a custom sign-in ticket (contract §13) as an application backend would, so an
// integrator can try profile:login {ticket} from a shell. The key comes from a file or stdin, never argv.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { SignJWT } from 'jose'
import { maxTicketLifeSeconds } from '../accounts/tickets.ts'
import { minSecretBytes, signingKey, type TicketAlg } from '../auth/ticket-keys.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { groupHelp, parseCommand, usageError, type CommandSpec } from './command.ts'
import { summaries } from './summaries.ts'

export const ticketSignSpec: CommandSpec = {
  name: 'ticket sign',
  summary: 'print a ticket (a JWT) for profile:login {"ticket": …}',
  options: {
    iss: { type: 'string', value: 'ISS', help: 'the issuer, as configured in tickets.issuers (required)' },
    sub: { type: 'string', value: 'SUB', help: "the application's user key, 1..255 characters (required)" },
    aud: { type: 'string', value: 'AUD', help: 'the audience (default: the first of server.domains)' },
    alg: { type: 'string', value: 'ALG', help: 'HS256 (default), EdDSA or ES256' },
    ttl: { type: 'string', value: 'SECONDS', help: `lifetime, 1..${maxTicketLifeSeconds} (default 300)` },
    'key-file': { type: 'string', value: 'FILE', help: 'read the key from FILE (default: stdin)' },
    config: { type: 'string', value: 'FILE', help: 'configuration file (for server.domains)' },
  },
  notes: `The key is read from --key-file, else from stdin — never from the command line, where other users
could see it (ps):
  HS256   the issuer's shared secret (at least ${minSecretBytes} bytes; one trailing newline is dropped)
  EdDSA   the issuer's Ed25519 private key, PEM
  ES256   the issuer's P-256 private key, PEM
iat is now and jti a random UUID, so each ticket works once.`,
  examples: ['hafnium ticket sign --iss https://app.example --sub user-42 --key-file secret.txt'],
}

class UsageError extends Error {}

export async function ticket(args: string[]): Promise<number> {
  const [command, ...rest] = args
  if (command === undefined || command === '--help' || command === '-h') {
    ;(command === undefined ? process.stderr : process.stdout).write(groupHelp('ticket', summaries.ticket, [ticketSignSpec]))
    return command === undefined ? 2 : 0
  }
  if (command !== 'sign') return usageError({ name: 'ticket' }, command.startsWith('-') ? `unknown option ${command}` : `unknown command "${command}"`).exit
  const parsed = parseCommand(ticketSignSpec, rest)
  if ('exit' in parsed) return parsed.exit
  try {
    process.stdout.write((await sign(parsed.values as SignOptions)) + '\n')
    return 0
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`hafnium ticket sign: ${error.message}\n`)
      return error instanceof UsageError ? 2 : 1
    }
    throw error
  }
}

interface SignOptions {
  iss?: string
  sub?: string
  aud?: string
  alg?: string
  ttl?: string
  'key-file'?: string
  config?: string
}

async function sign(values: SignOptions): Promise<string> {
  if (!values.iss) throw new UsageError('--iss is required')
  if (!values.sub || values.sub.length > 255) throw new UsageError('--sub is required (1..255 characters)')
  const alg = (values.alg ?? 'HS256') as TicketAlg
  if (!['HS256', 'EdDSA', 'ES256'].includes(alg)) throw new UsageError(`--alg must be HS256, EdDSA or ES256, not ${values.alg}`)
  const ttl = Number(values.ttl ?? '300')
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
