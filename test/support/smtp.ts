// An SMTP sink for the tests: a real SMTP server (smtp-server) on a loopback ephemeral port, without TLS or
// AUTH, that keeps every mail it accepts and hands the next one to an address to whoever waits for it.
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { within } from './within.ts'

export interface Mail {
  to: string[]
  raw: string
}

export interface SmtpSink {
  port: number
  /** Every mail accepted, in the order they were. */
  readonly mails: Mail[]
  /** The raw text of the next mail to `address` that no next() took yet; fails after `timeoutMs` saying so. */
  next(address: string, timeoutMs?: number): Promise<string>
  /** Resolves once `count` mails have been accepted in all; fails after `timeoutMs` saying how many were. */
  until(count: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** `delayMs`: each mail is acknowledged that long after its data ends (a slow server: senders overlap). */
export async function startSmtpSink({ delayMs = 0 }: { delayMs?: number } = {}): Promise<SmtpSink> {
  const mails: Mail[] = []
  const unread = new Map<string, string[]>()
  const waiting = new Map<string, ((raw: string) => void)[]>()
  const counters: (() => void)[] = []
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk) => (raw += chunk))
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((rcpt) => rcpt.address)
        mails.push({ to, raw })
        for (const address of to) {
          const waiter = waiting.get(address)?.shift()
          if (waiter) waiter(raw)
          else unread.set(address, [...(unread.get(address) ?? []), raw])
        }
        for (const wake of counters.splice(0)) wake()
        if (delayMs > 0) setTimeout(() => callback(), delayMs)
        else callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    next(address, timeoutMs = 20_000) {
      const queued = unread.get(address)?.shift()
      if (queued !== undefined) return Promise.resolve(queued)
      return within(new Promise<string>((resolve) => waiting.set(address, [...(waiting.get(address) ?? []), resolve])), timeoutMs, `a mail to ${address}`)
    },
    until(count, timeoutMs = 60_000) {
      const reached = new Promise<void>((resolve) => {
        const check = () => (mails.length >= count ? resolve() : counters.push(check))
        check()
      })
      return within(reached, timeoutMs, `${count} mails at the SMTP sink`).catch((error: Error) => {
        throw new Error(`${error.message} (${mails.length} arrived)`)
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
