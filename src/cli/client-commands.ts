// One REPL line: a command (login, send, raw, …) or a message typed as TYPE [JSON] or a JSON envelope.
import { HafniumError, type HafniumClient, type ReplyEnvelope } from '../client/index.ts'
import { sendSolving } from './client-captcha.ts'
import { completeEnvelope } from './client-complete.ts'
import { deviceLogin } from './client-device.ts'
import { formatReply, prettyJson, type createStyle } from './client-format.ts'

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

export type Outcome = 'ok' | 'error' | 'quit'

export async function run(line: string, client: HafniumClient, style: ReturnType<typeof createStyle>, print: (text: string) => void): Promise<Outcome> {
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
