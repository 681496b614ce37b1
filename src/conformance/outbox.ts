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
