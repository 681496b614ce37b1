// `hafnium conformance URL`: runs the black-box conformance suite, one line per check, a summary, exit 1 on any failure.
import { readFileSync, writeFileSync } from 'node:fs'
import { groups, runConformance, type CheckResult, type TicketIssuerOption } from '../conformance/index.ts'
import { parseCommand, usageError, wsUrlProblem, type CommandSpec } from './command.ts'

export const conformanceSpec: CommandSpec = {
  name: 'conformance',
  summary: 'run the black-box conformance suite against a server: one line per check, a summary, exit 1 on any failure',
  positionals: [{ name: 'URL', help: 'ws://HOST:PORT/ of the server under test (it gets throwaway accounts named cf-…)' }],
  options: {
    domain: { type: 'string', value: 'D', help: 'the "to" of requests (default: what the server answers to)' },
    skip: { type: 'string', value: 'G,…', help: `groups not to run: ${Object.keys(groups).join(', ')}` },
    outbox: { type: 'string', value: 'FILE', help: "the server's delivery.outboxFile, to read one-time codes (else the codes group is skipped)" },
    json: { type: 'string', value: 'FILE', help: 'also write the report as JSON to FILE' },
    'max-wait': { type: 'string', value: 'MS', help: 'the longest rate-limit wait (retryAfter) to sit out (default 30000)' },
    timeout: { type: 'string', value: 'MS', help: 'how long a reply or an event may take (default 10000)' },
    'ticket-iss': { type: 'string', value: 'ISS', help: 'an issuer the server trusts (tickets.issuers): enables the valid-ticket checks (else skipped)' },
    'ticket-key': { type: 'string', value: 'FILE', help: "that issuer's HS256 secret or private key (PEM)" },
    'ticket-alg': { type: 'string', value: 'ALG', help: 'HS256 (default), EdDSA or ES256' },
  },
  examples: ['hafnium conformance ws://127.0.0.1:7777/ --skip codes'],
}

export async function conformance(args: string[]): Promise<number> {
  const parsed = parseCommand(conformanceSpec, args)
  if ('exit' in parsed) return parsed.exit
  const values = parsed.values as {
    domain?: string
    skip?: string
    outbox?: string
    json?: string
    'max-wait'?: string
    timeout?: string
    'ticket-iss'?: string
    'ticket-key'?: string
    'ticket-alg'?: string
  }
  const positionals = parsed.positionals
  const badUrl = wsUrlProblem(positionals[0]!)
  if (badUrl) return usageError(conformanceSpec, badUrl).exit
  const skip = (values.skip ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '')
  const unknown = skip.filter((g) => !(g in groups))
  if (unknown.length > 0) {
    return usageError(conformanceSpec, `unknown group ${unknown.join(', ')} (groups: ${Object.keys(groups).join(', ')})`).exit
  }
  const maxWaitMs = milliseconds(values['max-wait'], '--max-wait')
  const timeoutMs = milliseconds(values.timeout, '--timeout')
  if (maxWaitMs === null || timeoutMs === null) return 2
  const ticketIssuer = issuerOption(values['ticket-iss'], values['ticket-key'], values['ticket-alg'] ?? 'HS256')
  if (ticketIssuer === null) return 2

  let report
  try {
    report = await runConformance({
      url: positionals[0]!,
      domain: values.domain,
      skip,
      outboxFile: values.outbox,
      ticketIssuer,
      maxWaitMs,
      timeoutMs,
      onResult: (result) => process.stdout.write(`${line(result)}\n`),
    })
  } catch (error) {
    process.stderr.write(`hafnium conformance: ${(error as Error).message}\n`)
    return 1
  }
  process.stdout.write(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped\n`)
  if (values.json) {
    try {
      writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`)
    } catch (error) {
      process.stderr.write(`hafnium conformance: cannot write ${values.json}: ${(error as Error).message}\n`)
      return 1
    }
  }
  return report.failed > 0 ? 1 : 0
}

/** The ticket issuer to sign as: undefined when not given, null (after saying why) when incomplete or unreadable. */
function issuerOption(iss: string | undefined, keyFile: string | undefined, alg: string): TicketIssuerOption | undefined | null {
  if (iss === undefined && keyFile === undefined) return undefined
  const refuse = (why: string) => (usageError(conformanceSpec, why), null)
  if (iss === undefined || keyFile === undefined) return refuse('--ticket-iss and --ticket-key go together')
  if (alg !== 'HS256' && alg !== 'EdDSA' && alg !== 'ES256') return refuse(`--ticket-alg must be HS256, EdDSA or ES256, got "${alg}"`)
  try {
    return { iss, alg, key: readFileSync(keyFile, 'utf8') }
  } catch (error) {
    return refuse(`cannot read --ticket-key: ${(error as Error).message}`)
  }
}

/** undefined when not given, null (after saying why) when not a whole number of milliseconds. */
function milliseconds(value: string | undefined, flag: string): number | undefined | null {
  if (value === undefined) return undefined
  const ms = Number(value)
  if (Number.isInteger(ms) && ms >= 0) return ms
  usageError(conformanceSpec, `${flag} must be a whole number of milliseconds, got "${value}"`)
  return null
}

export function line(result: CheckResult): string {
  if (result.status === 'pass') return `PASS ${result.name}`
  return `${result.status === 'fail' ? 'FAIL' : 'SKIP'} ${result.name}: ${result.reason ?? ''}`
}
