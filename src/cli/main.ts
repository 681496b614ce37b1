// The `hafnium` command: dispatches to the registered commands; --help lists them, --version prints the version.
import { version } from '../version.ts'
import { backupCommand, restoreCommand } from './backup.ts'
import { clientCommand } from './client.ts'
import type { Command } from './command.ts'
import { conformanceCommand } from './conformance.ts'
import { serveCommand } from './serve.ts'
import { ticketCommand } from './ticket.ts'
import { userCommand } from './user.ts'

/** Every command, in the order `hafnium --help` lists them. A new command: one entry here. */
export const commands: Command[] = [
  serveCommand,
  userCommand,
  clientCommand,
  conformanceCommand,
  backupCommand,
  restoreCommand,
  ticketCommand,
]

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'usage: hafnium <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  -h, --help     this help; "hafnium <command> --help" shows a command\'s options and an example',
    '  -v, --version  print the version',
    '',
    'example:',
    '  hafnium serve --port 7777',
    '',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`hafnium ${version}\n`)
    return 0
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    ;(name ? process.stdout : process.stderr).write(usage())
    return name ? 0 : 2
  }
  const command = commands.find((c) => c.name === name)
  if (!command) {
    process.stderr.write(`hafnium: ${name.startsWith('-') ? `unknown option ${name}` : `unknown command "${name}"`} (see hafnium --help)\n`)
    return 2
  }
  return command.run(args)
}
