// The interactive side of `hafnium client`: commands, history, tab completion of message types, output as it arrives.
import { clearLine, createInterface, cursorTo } from 'node:readline'
import type { HafniumClient } from '../client/index.ts'
import { formatCaptcha } from './client-captcha.ts'
import { run } from './client-commands.ts'
import { complete, serverTypes } from './client-complete.ts'
import { createStyle, formatEvent, formatStatus, useColour } from './client-format.ts'
import { historyFile, loadHistory, saveHistory } from './client-history.ts'

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream
  env: Record<string, string | undefined>
}

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
