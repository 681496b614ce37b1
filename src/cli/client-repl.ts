// The interactive side of `hafnium client`: commands, history, tab completion of message types, output as it arrives.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { clearLine, createInterface, cursorTo } from 'node:readline'
import { HafniumError, type HafniumClient, type ReplyEnvelope } from '../client/index.ts'
import { formatCaptcha, sendSolving } from './client-captcha.ts'
import { deviceLogin } from './client-device.ts'
import { createStyle, formatEvent, formatReply, formatStatus, prettyJson, useColour } from './client-format.ts'

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream
  env: Record<string, string | undefined>
}

/** Printed by `help`; README > Interactive client quotes it verbatim (a test checks). */
export const help = `commands:
  login USER PASS [DEVICE NAME]     log in (USER: username, email or phone number) as a new device;
                                    logged in already: that device logs out first
  register USER PASS [DEVICE NAME]  create an account and log in
  guest [NAME]                      sign in as a new guest account (NAME: the device name)
  upgrade USER PASS                 make this guest account a full one (same user ID and session)
  ticket TICKET [NAME]              log in with a custom ticket (a JWT from the app's backend, e.g. hafnium ticket sign)
  auth TOKEN                        authenticate as an existing device
  logout [all]                      revoke this device (or every device)
  device-login [NAME]               sign in without a password: prints a code to approve elsewhere, waits
  approve CODE, deny CODE           from a signed-in device: let a waiting device in (or refuse it)
  send TYPE [JSON]                  send a request, e.g. send profile:get {}
  TYPE [JSON]                       the same, e.g. server:ping
  {"type": …}                       a JSON envelope; id, to and payload are filled in when absent
  raw TEXT                          send TEXT exactly as typed
  whoami                            the session of this connection
  help                              this text
  quit                              leave (also exit, Ctrl-D)
`

export const historyHint = '~/.hafnium_history (HAFNIUM_HISTORY=FILE elsewhere, HAFNIUM_HISTORY= for none); lines that carry a password, token or code are not saved'

/** Where the REPL keeps its history, or undefined for none. */
function historyFile(env: Io['env']): string | undefined {
  const configured = env.HAFNIUM_HISTORY
  if (configured !== undefined) return configured === '' ? undefined : configured
  return join(homedir(), '.hafnium_history')
}

/** Lines that hold a secret stay in memory only: never store a password, token or code in the clear. */
export function savable(line: string): boolean {
  return !/^\s*(login|register|upgrade|ticket|auth)\b/.test(line) && !/password|token|code|secret/i.test(line)
}

function loadHistory(file: string | undefined): string[] {
  if (!file) return []
  try {
    // readline keeps the newest entry first; the file is oldest first, like a shell's.
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').reverse().slice(0, 1000)
  } catch {
    return []
  }
}

function saveHistory(file: string | undefined, history: string[]): void {
  if (!file) return
  try {
    const lines = history.filter(savable).reverse()
    writeFileSync(file, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 })
    chmodSync(file, 0o600) // `mode` applies only when the file is created
  } catch {
    // A read-only home must not break the REPL.
  }
}

const commands = ['login', 'register', 'guest', 'upgrade', 'ticket', 'auth', 'logout', 'device-login', 'approve', 'deny', 'send', 'raw', 'whoami', 'help', 'quit']

export async function repl(client: HafniumClient, io: Io): Promise<number> {
  const tty = io.stdin.isTTY === true && io.stdout.isTTY === true
  const style = createStyle(useColour(io.stdout, io.env))
  const types = await serverTypes(client)
  const history = tty ? historyFile(io.env) : undefined
  const rl = createInterface({
    input: io.stdin,
    output: io.stdout,
    terminal: tty,
    history: loadHistory(history),
    historySize: 1000,
    removeHistoryDuplicates: true,
    completer: (line: string) => complete(line, types),
  })
  rl.on('history', (lines: string[]) => saveHistory(history, lines))
  const prompt = () => `${client.session ? client.session.userID : client.domain}> `
  // Output that arrives while the user types is printed above the prompt, which is then redrawn.
  const print = (text: string) => {
    if (tty) {
      clearLine(io.stdout, 0)
      cursorTo(io.stdout, 0)
    }
    io.stdout.write(`${text}\n`)
    if (tty && !busy && !ended) {
      rl.setPrompt(prompt())
      rl.prompt(true)
    }
  }
  let busy = false
  client.on('*', (_payload, event) => print(formatEvent(event, style)))
  client.onStray = (_frame, text) => print(style.dim(`· unmatched frame: ${text}`))
  client.onCaptcha((event) => {
    const text = formatCaptcha(event, style)
    if (text) print(text)
  })
  client.onStatus((status) => {
    const text = formatStatus(status, style)
    if (text) print(text)
  })
  if (tty) io.stdout.write(style.dim(`connected to ${client.url} (domain ${client.domain}); type help, Tab completes message types\n`))

  let status = 0
  let ended = false
  const queue: string[] = []
  let draining: Promise<void> | undefined
  const drain = async () => {
    busy = true
    for (let line = queue.shift(); line !== undefined; line = queue.shift()) {
      const result = await run(line.trim(), client, style, print)
      if (result === 'quit') {
        queue.length = 0
        rl.close()
        break
      }
      if (result === 'error') status = 1
      if (!client.isOpen) {
        print(style.error('connection lost; giving up'))
        status = 1
        rl.close()
        break
      }
    }
    busy = false
    if (tty && !ended) {
      rl.setPrompt(prompt())
      rl.prompt()
    }
  }
  rl.on('line', (line) => {
    queue.push(line)
    draining ??= drain().finally(() => (draining = undefined))
  })
  rl.on('SIGINT', () => rl.close())
  rl.once('close', () => (ended = true))
  if (tty) {
    rl.setPrompt(prompt())
    rl.prompt()
  }
  await new Promise<void>((resolve) => rl.once('close', resolve))
  while (draining) await draining
  return status
}

type Outcome = 'ok' | 'error' | 'quit'

async function run(line: string, client: HafniumClient, style: ReturnType<typeof createStyle>, print: (text: string) => void): Promise<Outcome> {
  if (line === '' || line.startsWith('#')) return 'ok'
  const [command = '', ...rest] = line.split(/\s+/)
  const started = Date.now()
  const show = (reply: ReplyEnvelope): Outcome => {
    print(formatReply(reply, style, Date.now() - started))
    return 'ok'
  }
  try {
    switch (command) {
      case 'help':
        print(help.trimEnd())
        return 'ok'
      case 'quit':
      case 'exit':
        return 'quit'
      case 'whoami':
        print(client.session ? prettyJson(client.session, style, '') : style.dim('not authenticated'))
        return 'ok'
      case 'login':
      case 'register': {
        if (rest.length < 2) throw new UsageError(`${command} USER PASS`)
        const [user, password, ...name] = rest
        const deviceName = name.length > 0 ? { deviceName: name.join(' ') } : {}
        const payload = command === 'login' ? { loginID: user, password, ...deviceName } : { username: user, password, loginOnSuccess: true, ...deviceName }
        await logoutFirst(client, style, print)
        return show(await sendSolving(client, { type: `profile:${command}`, payload }))
      }
      case 'guest':
        await logoutFirst(client, style, print)
        return show(await sendSolving(client, { type: 'profile:guest', payload: rest.length > 0 ? { deviceName: rest.join(' ') } : {} }))
      case 'upgrade':
        if (rest.length !== 2) throw new UsageError('upgrade USER PASS')
        return show(await sendSolving(client, { type: 'profile:upgrade', payload: { username: rest[0], password: rest[1] } }))
      case 'ticket': {
        const [ticket, ...name] = rest
        if (!ticket) throw new UsageError('ticket TICKET [NAME]')
        await logoutFirst(client, style, print)
        return show(await sendSolving(client, { type: 'profile:login', payload: { ticket, ...(name.length > 0 && { deviceName: name.join(' ') }) } }))
      }
      case 'auth':
        if (rest.length !== 1) throw new UsageError('auth TOKEN')
        await logoutFirst(client, style, print)
        return show(await sendSolving(client, { type: 'profile:auth', payload: { authToken: rest[0] } }))
      case 'logout':
        return show(await client.send({ type: 'profile:logout', payload: rest[0] === 'all' ? { allDevices: true } : {} }))
      case 'device-login':
        return await deviceLogin(client, rest.join(' '), style, print)
      case 'approve':
      case 'deny':
        if (rest.length === 0) throw new UsageError(`${command} CODE`)
        return show(await client.send({ type: `device:authorize_${command}`, payload: { userCode: rest.join('') } }))
      case 'raw':
        return show(await client.sendRaw(line.slice(3).trim()))
      case 'send':
        return show(await sendTyped(client, line.slice(4).trim()))
      default:
        if (line.startsWith('{')) {
          JSON.parse(line)
          return show(await client.sendRaw(completeEnvelope(line, client.domain)))
        }
        if (/^[\w.-]+:[\w.-]+$/.test(command)) return show(await sendTyped(client, line))
        throw new UnknownCommand(`unknown command "${command}" — type help`)
    }
  } catch (error) {
    const message = error instanceof UnknownCommand ? error.message : error instanceof UsageError ? `usage: ${error.message}` : (error as Error).message
    print(style.error(error instanceof HafniumError ? error.message : message))
    return error instanceof UsageError || error instanceof SyntaxError ? 'ok' : 'error'
  }
}

/** `TYPE [JSON payload]`. */
function sendTyped(client: HafniumClient, text: string): Promise<ReplyEnvelope> {
  const space = text.search(/\s/)
  const type = space === -1 ? text : text.slice(0, space)
  if (type === '') throw new UsageError('send TYPE [JSON]')
  const json = space === -1 ? '' : text.slice(space).trim()
  const payload: unknown = json === '' ? {} : JSON.parse(json)
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new UsageError('send TYPE {json object}')
  return sendSolving(client, { type, payload })
}

class UsageError extends Error {}

class UnknownCommand extends UsageError {}

/** A second login on one connection would leave the first device's session behind, still valid: log it out. */
async function logoutFirst(client: HafniumClient, style: ReturnType<typeof createStyle>, print: (text: string) => void): Promise<void> {
  const session = client.session
  if (!session) return
  const reply = await client.send({ type: 'profile:logout', payload: {} })
  print(style.dim(reply.ok ? `· logged out ${session.userID} (device ${session.deviceID}) first` : `· could not log out ${session.deviceID} first`))
}

/** Message types for completion, from server:info (none if the server does not answer it). */
async function serverTypes(client: HafniumClient): Promise<string[]> {
  try {
    const info = await client.request('server:info', {})
    return Array.isArray(info.types) ? info.types.filter((t): t is string => typeof t === 'string') : []
  } catch {
    return []
  }
}

export function complete(line: string, types: string[]): [string[], string] {
  const words = line.split(' ')
  const last = words.at(-1) ?? ''
  const candidates = words.length === 1 ? [...commands, ...types] : words.length === 2 && words[0] === 'send' ? types : []
  return [candidates.filter((c) => c.startsWith(last)), last]
}

/** A line that is a JSON object with a `type` gets the `id`, `to` and `payload` it lacks; anything else goes as written. */
export function completeEnvelope(line: string, domain: string): string {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return line
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('type' in value)) return line
  return JSON.stringify({ id: `cli${++lineIds}`, to: domain, payload: {}, ...value })
}

let lineIds = 0
