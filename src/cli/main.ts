// The `hafnium` command: dispatches to serve, user, client and conformance.
import { backup, restore } from './backup.ts'
import { client } from './client.ts'
import { conformance } from './conformance.ts'
import { serve } from './serve.ts'
import { ticket } from './ticket.ts'
import { user } from './user.ts'

const usage = `usage: hafnium <command> [options]

commands:
  serve [--config FILE] [--host H] [--port N] [--db FILE]   start the server
  user add|list|disable|enable|passwd …                      administer accounts on the database file
  client URL                                                 interactive test client
  conformance URL                                            run the protocol conformance suite against URL
  ticket sign --iss ISS --sub SUB [--key-file F]             sign a custom sign-in ticket (key from a file or stdin)
  backup [--db FILE] OUT                                     copy the live database and its key to OUT
  restore [--db FILE] [--force] BACKUP                       replace a stopped server's database with BACKUP
`

const commands: Record<string, (args: string[]) => Promise<number>> = {
  serve,
  user,
  client,
  conformance,
  ticket,
  backup,
  restore,
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage)
    return command ? 0 : 2
  }
  const run = commands[command]
  if (!run) {
    process.stderr.write(`hafnium: unknown command "${command}"\n\n${usage}`)
    return 2
  }
  return run(args)
}
