// `hafnium conformance URL`: runs the black-box conformance suite, one line per check, a summary, exit 1 on any failure.
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { WebSocket } from 'ws'
import type { WebSocketConstructor } from '../client/index.ts'
import { groups, runConformance, type CheckResult, type TicketIssuerOption } from '../conformance/index.ts'

const usage = `usage: hafnium conformance URL [--domain D] [--skip GROUP,…] [--outbox FILE] [--json FILE] [--max-wait MS] [--timeout MS]
                               [--ticket-iss ISS --ticket-key FILE [--ticket-alg HS256|EdDSA|ES256]]

  URL            ws://HOST:PORT/ of the server under test (it gets throwaway accounts named cf-…)
  --domain D     the "to" of requests (default: what the server answers to)
  --skip G,…     groups not to run: ${Object.keys(groups).join(', ')}
  --outbox FILE  the server's delivery.outboxFile, to read one-time codes (else the codes group is skipped)
  --json FILE    also write the report as JSON to FILE
  --max-wait MS  the longest rate-limit wait (retryAfter) to sit out (default 30000)
  --timeout MS   how long a reply or an event may take (default 10000)
  --ticket-iss, --ticket-key, --ticket-alg
                 an issuer the server trusts (tickets.issuers) and the file with its HS256 secret or
                 private key (PEM): enables the valid-ticket checks (else they are skipped)
`

export async function conformance(args: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        domain: { type: 'string' },
        skip: { type: 'string' },
        outbox: { type: 'string' },
        json: { type: 'string' },
        'max-wait': { type: 'string' },
        timeout: { type: 'string' },
        'ticket-iss': { type: 'string' },
        'ticket-key': { type: 'string' },
        'ticket-alg': { type: 'string', default: 'HS256' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    process.stderr.write(`hafnium conformance: ${(error as Error).message}\n\n${usage}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  if (positionals.length !== 1) {
    process.stderr.write(`hafnium conformance: ${positionals.length === 0 ? 'missing URL' : 'one URL only'}\n\n${usage}`)
    return 2
  }
  const skip = (values.skip ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '')
  const unknown = skip.filter((g) => !(g in groups))
  if (unknown.length > 0) {
    process.stderr.write(`hafnium conformance: unknown group ${unknown.join(', ')} (groups: ${Object.keys(groups).join(', ')})\n`)
    return 2
  }
  const maxWaitMs = milliseconds(values['max-wait'], '--max-wait')
  const timeoutMs = milliseconds(values.timeout, '--timeout')
  if (maxWaitMs === null || timeoutMs === null) return 2
  const ticketIssuer = issuerOption(values['ticket-iss'], values['ticket-key'], values['ticket-alg']!)
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
      // `ws` rather than the runtime's WebSocket: only it says why a connection failed (refused, HTTP 404…).
      WebSocket: WebSocket as unknown as WebSocketConstructor,
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
  const refuse = (why: string) => (process.stderr.write(`hafnium conformance: ${why}\n`), null)
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
  process.stderr.write(`hafnium conformance: ${flag} must be a whole number of milliseconds, got "${value}"\n`)
  return null
}

export function line(result: CheckResult): string {
  if (result.status === 'pass') return `PASS ${result.name}`
  return `${result.status === 'fail' ? 'FAIL' : 'SKIP'} ${result.name}: ${result.reason ?? ''}`
}
