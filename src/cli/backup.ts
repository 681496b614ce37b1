// `hafnium backup` and `hafnium restore`: a consistent copy of a live database and its outbox key, and the way back.
import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config.ts'
import { backupDatabase, restoreDatabase } from '../store/backup.ts'
import { DatabaseInUseError } from '../store/lock.ts'

export const backupHelp = `usage: hafnium backup [--config FILE] [--db FILE] OUT

Copies the database (default: database.path of the config) to OUT with SQLite's online
backup API, while the server keeps serving, and its outbox key to OUT.key (mode 0600).
OUT must not exist. The copy is checked (PRAGMA integrity_check) before it is kept.
Keep OUT and OUT.key together, and as private as the database itself.
`

export const restoreHelp = `usage: hafnium restore [--config FILE] [--db FILE] [--force] BACKUP

Replaces the database (default: database.path of the config) with BACKUP, and its key
file with BACKUP.key when there is one. Stop the server first: a database in use is
never overwritten. An existing database is replaced only with --force.
`

interface Parsed {
  config?: string
  db?: string
  force?: boolean
  help?: boolean
  positionals: string[]
}

function parse(name: string, args: string[], help: string, force: boolean): Parsed | number {
  let parsed
  try {
    parsed = parseArgs({
      args,
      options: { config: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...(force ? { force: { type: 'boolean' } } : {}) },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    process.stderr.write(`hafnium ${name}: ${(error as Error).message}\n\n${help}`)
    return 2
  }
  if (parsed.values.help) {
    process.stdout.write(help)
    return 0
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(help)
    return 2
  }
  return { ...(parsed.values as Omit<Parsed, 'positionals'>), positionals: parsed.positionals }
}

function databasePath(name: string, parsed: Parsed): string | number {
  try {
    return loadConfig({ file: parsed.config, overrides: { database: { path: parsed.db } } }).database.path
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`hafnium ${name}: ${error.message}\n`)
    return 1
  }
}

export async function backup(args: string[]): Promise<number> {
  const parsed = parse('backup', args, backupHelp, false)
  if (typeof parsed === 'number') return parsed
  const db = databasePath('backup', parsed)
  if (typeof db === 'number') return db
  const out = parsed.positionals[0]!
  if (db === ':memory:' || !existsSync(db)) {
    process.stderr.write(`hafnium backup: no database at ${db}\n`)
    return 1
  }
  try {
    mkdirSync(dirname(out), { recursive: true })
    const result = await backupDatabase(db, out)
    const key = result.keyFile ? `, key to ${result.keyFile}` : ' (no key file beside it: the outbox key comes from HAFNIUM_OUTBOX_KEY, keep that too)'
    process.stdout.write(`backed up ${db} to ${out} (${result.pages} pages, integrity ok)${key}\n`)
    return 0
  } catch (error) {
    process.stderr.write(`hafnium backup: ${(error as Error).message}\n`)
    return 1
  }
}

export async function restore(args: string[]): Promise<number> {
  const parsed = parse('restore', args, restoreHelp, true)
  if (typeof parsed === 'number') return parsed
  const db = databasePath('restore', parsed)
  if (typeof db === 'number') return db
  const from = parsed.positionals[0]!
  if (!existsSync(from)) {
    process.stderr.write(`hafnium restore: no backup at ${from}\n`)
    return 1
  }
  if (existsSync(db) && !parsed.force) {
    process.stderr.write(`hafnium restore: ${db} exists; pass --force to replace it (stop the server first)\n`)
    return 1
  }
  try {
    mkdirSync(dirname(db), { recursive: true })
    const result = await restoreDatabase(from, db)
    const key = result.keyRestored ? `, key to ${db}.key` : ` (no ${from}.key: codes waiting in the outbox cannot be sent with another key)`
    process.stdout.write(`restored ${from} to ${db} (${result.pages} pages, integrity ok)${key}\n`)
    return 0
  } catch (error) {
    if (error instanceof DatabaseInUseError) {
      process.stderr.write(`hafnium restore: ${db} is in use by a running server; stop it first, nothing was changed\n`)
      return 1
    }
    process.stderr.write(`hafnium restore: ${(error as Error).message}\n`)
    return 1
  }
}
