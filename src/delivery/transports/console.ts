// Development transport: prints the code on stdout and, if delivery.outboxFile is set, appends the JSON line there.
import { appendFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DeliveryError, toJSONLine, type Transport } from '../message.ts'

export interface ConsoleTransportOptions {
  /** delivery.outboxFile (relative paths are relative to the working directory). */
  outboxFile: string | null
  /** Where the human-readable line goes; stdout by default (the code is printed on purpose: it is the dev transport). */
  print?: (line: string) => void
}

export function createConsoleTransport(options: ConsoleTransportOptions): Transport {
  const print = options.print ?? ((line: string) => void process.stdout.write(line + '\n'))
  // Appends run one after another, so the file lists messages in the order they were sent.
  let writes: Promise<unknown> = Promise.resolve()
  return {
    async send(message) {
      print(`[hafnium delivery] ${message.channel} to ${message.to} (${message.purpose}): code ${message.code}`)
      const file = options.outboxFile
      if (file === null) return
      const line = toJSONLine(message) + '\n'
      const write = writes.then(async () => {
        await mkdir(dirname(file), { recursive: true })
        await appendFile(file, line, { mode: 0o600 })
      })
      writes = write.catch(() => {})
      try {
        await write
      } catch (error) {
        throw new DeliveryError(`cannot append to outboxFile: ${(error as Error).message}`, true)
      }
    },
  }
}
