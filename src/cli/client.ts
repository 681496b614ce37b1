// `hafnium client URL`: an interactive test client (readline REPL), or with --json a line-per-envelope pipe for scripts.
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { WebSocket } from 'ws'
import { HafniumClient, type ClientOptions, type WebSocketConstructor } from '../client/index.ts'
import { completeEnvelope, repl, type Io } from './client-repl.ts'

const usage = `usage: hafnium client URL [--domain D] [--json] [--timeout MS]

  URL           ws://HOST:PORT/ (or wss://…) of the server
  --domain D    the "to" of requests (default: what the server answers to)
  --json        read one envelope (or {"type","payload"}) per stdin line, print one reply per stdout line
  --timeout MS  how long to wait for a reply (default 30000)
`

export async function client(args: string[], io: Partial<Io> = {}): Promise<number> {
  const out: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, ...io }
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { domain: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    })
  } catch (error) {
    out.stderr.write(`hafnium client: ${(error as Error).message}\n\n${usage}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    out.stdout.write(usage)
    return 0
  }
  if (positionals.length !== 1) {
    out.stderr.write(`hafnium client: ${positionals.length === 0 ? 'missing URL' : 'one URL only'}\n\n${usage}`)
    return 2
  }
  const timeout = values.timeout === undefined ? 30_000 : Number(values.timeout)
  if (!Number.isInteger(timeout) || timeout < 0) {
    out.stderr.write(`hafnium client: --timeout must be a whole number of milliseconds, got "${values.timeout}"\n`)
    return 2
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
    connection = await HafniumClient.connect(positionals[0]!, options)
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
