// Reads one-time codes from a server's delivery.outboxFile (contract §10: one JSON line per message sent).
import { readFile } from 'node:fs/promises'
import { sleep } from './harness.ts'

export interface SentMessage {
  channel: string
  to: string
  purpose: string
  code: string
  at?: number
}

/** The code of the newest message to `to` for `purpose`, waiting up to `timeoutMs` for the server to send it. */
export async function waitForCode(file: string, to: string, purpose: string, timeoutMs = 10_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const match = (await readMessages(file)).filter((m) => m.to === to && m.purpose === purpose).at(-1)
    if (match) return match.code
    if (Date.now() >= deadline) return undefined
    await sleep(100)
  }
}

async function readMessages(file: string): Promise<SentMessage[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const messages: SentMessage[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      const value = JSON.parse(line) as Partial<SentMessage>
      if (typeof value.to === 'string' && typeof value.purpose === 'string' && typeof value.code === 'string') messages.push(value as SentMessage)
    } catch {
      // a line being written right now: read again on the next poll
    }
  }
  return messages
}

export class OutboxNotWritten extends Error {
  constructor(file: string, waitedMs: number) {
    super(
      `--outbox ${file}: no code reached that file within ${waitedMs} ms of a verification:request, so the codes ` +
        `group cannot read its codes. Is the server's delivery.outboxFile set to this file? A default \`npm start\` ` +
        `has delivery.outboxFile null (codes are only printed): start the server with a config that sets it, e.g. ` +
        `{"delivery": {"outboxFile": "${file}"}}, or leave out --outbox to skip the codes group.`,
    )
    this.name = 'OutboxNotWritten'
  }
}

/**
 * Asks for one signup code to a fresh address and waits `waitMs` for it in `file`: a wrong or unset outbox file
 * fails the run at once instead of after every codes check has waited out its own timeout (38 s in all).
 * A server that refuses the request (registration closed, a rate limit) proves nothing either way: the
 * codes group then reports what it finds.
 */
export async function probeOutbox(send: (email: string) => Promise<boolean>, file: string, email: string, waitMs = 1_000): Promise<void> {
  if (!(await send(email))) return
  if ((await waitForCode(file, email, 'signup', waitMs)) === undefined) throw new OutboxNotWritten(file, waitMs)
}
