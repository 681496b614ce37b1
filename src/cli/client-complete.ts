// Tab completion in the REPL (its command words and the server's message types) and the envelope a bare JSON line is given.
import type { HafniumClient } from '../client/index.ts'

/** The REPL's own command words (see help in client-commands.ts). */
const commands = ['login', 'register', 'guest', 'upgrade', 'ticket', 'auth', 'logout', 'device-login', 'approve', 'deny', 'send', 'raw', 'whoami', 'help', 'quit']

/** Message types for completion, from server:info (none if the server does not answer it). */
export async function serverTypes(client: HafniumClient): Promise<string[]> {
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
