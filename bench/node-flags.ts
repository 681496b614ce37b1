// The server's node flags, read from package.json's start script (deploy/hafnium.service repeats them):
// what the bench starts its servers with, and what test/unit/node-flags checks the unit against.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The node flags in package.json's start script (`exec node <flags> bin/hafnium.js serve`). */
export function serverNodeFlags(root: string): string[] {
  const start = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start as string
  const flags = /^exec node (?<flags>(?:--\S+ )*)bin\/hafnium\.js serve$/.exec(start)?.groups?.flags
  if (flags === undefined) throw new Error(`package.json: unexpected start script ${JSON.stringify(start)}`)
  return flags.split(' ').filter(Boolean)
}
