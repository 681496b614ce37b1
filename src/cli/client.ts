// `hafnium client URL`: an interactive test client (readline REPL), or with --json a line-per-envelope pipe for scripts.
import { createInterface } from 'node:readline'
import { WebSocket } from 'ws'
import { HafniumClient, type ClientOptions, type WebSocketConstructor } from '../client/index.ts'
import { parseCommand, usageError, wsUrlProblem, type CommandSpec } from './command.ts'
import { completeEnvelope } from './client-complete.ts'
import { historyHint } from './client-history.ts'
import { repl, type Io } from './client-repl.ts'

export const clientSpec: CommandSpec = {
  name: 'client',
  summary: 'an interactive test client (a REPL; type help), or with --json one envelope per line for scripts',
  positionals: [{ name: 'URL', help: 'ws://HOST:PORT/ (or wss://…) of the server' }],
  options: {
    domain: { type: 'string', value: 'D', help: 'the "to" of requests (default: what the server answers to)' },
    json: { type: 'boolean', help: 'read one envelope (or {"type","payload"}) per stdin line, print one reply per stdout line' },
    timeout: { type: 'string', value: 'MS', help: 'how long to wait for a reply (default 30000)' },
  },
  notes: `The REPL keeps its history in ${historyHint}.`,
  examples: ['hafnium client ws://127.0.0.1:7777/', `echo '{"type":"server:ping"}' | hafnium client ws://127.0.0.1:7777/ --json`],
}

export async function client(args: string[], io: Partial<Io> = {}): Promise<number> {
  const out: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, ...io }
  const parsed = parseCommand(clientSpec, args, out)
  if ('exit' in parsed) return parsed.exit
  const values = parsed.values as { domain?: string; json?: boolean; timeout?: string }
  const url = parsed.positionals[0]!
  const badUrl = wsUrlProblem(url)
  if (badUrl) return usageError(clientSpec, badUrl, out.stderr).exit
  const timeout = values.timeout === undefined ? 30_000 : Number(values.timeout)
  if (!Number.isInteger(timeout) || timeout < 0) {
    return usageError(clientSpec, `--timeout must be a whole number of milliseconds, got "${values.timeout}"`, out.stderr).exit
  }
  // `ws` rather than the runtime's WebSocket: only it says why a connection failed (refused, HTTP 404…).
  const options: ClientOptions = {
    requestTimeoutMs: timeout,
    reconnect: { maxAttempts: 5 },
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    ...(values.domain ? { domain: values.domain } : {}),
  }
  let connection: HafniumClient
  try {
    connection = await HafniumClient.connect(url, options)
  } catch (error) {
    out.stderr.write(`hafnium client: ${(error as Error).message}\n`)
    return 1
  }
  try {
    return values.json ? await jsonMode(connection, out) : await repl(connection, out)
  } finally {
    await connection.close()
  }
}

/**
 * Scripting: each stdin line is sent as soon as it is read (pipelined; the server answers in order) and each
 * reply, event or transport error is one JSON line on stdout as it arrives. Exits at EOF once all are answered.
 */
async function jsonMode(connection: HafniumClient, io: Io): Promise<number> {
  let status = 0
  const print = (value: unknown) => void io.stdout.write(`${JSON.stringify(value)}\n`)
  // Frames are printed as they arrive (replies and events in wire order); the promises only track completion.
  connection.onFrame = (text) => {
    try {
      print(JSON.parse(text))
    } catch {
      print({ stray: text })
    }
  }
  const replies: Promise<void>[] = []
  const lines = createInterface({ input: io.stdin, terminal: false, crlfDelay: Number.POSITIVE_INFINITY })
  for await (const line of lines) {
    if (line.trim() === '') continue
    replies.push(
      connection.sendRaw(completeEnvelope(line, connection.domain)).then(
        () => {},
        (error: Error) => {
          status = 1
          print({ error: error.message, line })
        },
      ),
    )
  }
  await Promise.all(replies)
  return status
}
