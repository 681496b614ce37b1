// The `hafnium` command: dispatches to the registered commands; --help lists them, --version prints the version.
import { version } from '../version.ts'
import type { Command } from './command.ts'
import { summaries } from './summaries.ts'

// Each command's module loads when it runs: `hafnium serve` carries neither the client, the conformance
// suite nor the ticket signer (jose) in its heap.
/** Every command, in the order `hafnium --help` lists them. A new command: one entry here, its summary in summaries.ts. */
export const commands: Command[] = [
  { name: 'serve', summary: summaries.serve, run: async (args) => (await import('./serve.ts')).serve(args) },
  { name: 'user', summary: summaries.user, run: async (args) => (await import('./user.ts')).user(args) },
  { name: 'client', summary: summaries.client, run: async (args) => (await import('./client.ts')).client(args) },
  { name: 'conformance', summary: summaries.conformance, run: async (args) => (await import('./conformance.ts')).conformance(args) },
  { name: 'backup', summary: summaries.backup, run: async (args) => (await import('./backup.ts')).backup(args) },
  { name: 'restore', summary: summaries.restore, run: async (args) => (await import('./backup.ts')).restore(args) },
  { name: 'ticket', summary: summaries.ticket, run: async (args) => (await import('./ticket.ts')).ticket(args) },
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
