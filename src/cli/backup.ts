// `hafnium backup` and `hafnium restore`: a consistent copy of a live database and its outbox key, and the way back.
import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { ConfigError, loadConfig } from '../config.ts'
import { backupDatabase, restoreDatabase } from '../store/backup.ts'
import { DatabaseInUseError } from '../store/lock.ts'
import { parseCommand, type CommandSpec } from './command.ts'
import { summaries } from './summaries.ts'

const common: CommandSpec['options'] = {
  config: { type: 'string', value: 'FILE', help: 'configuration file (for database.path)' },
  db: { type: 'string', value: 'FILE', help: 'SQLite database file (overrides database.path)' },
}

export const backupSpec: CommandSpec = {
  name: 'backup',
  summary: summaries.backup,
  positionals: [{ name: 'OUT', help: 'the copy to write (must not exist); the key goes to OUT.key' }],
  options: common,
  notes: `Uses SQLite's online backup API: one consistent snapshot even under writes. The copy is checked
(PRAGMA integrity_check) before it is kept, and written 0600. Keep OUT and OUT.key together, and as
private as the database itself.`,
  examples: ['hafnium backup --config /etc/hafnium/server.config.json /var/backups/hafnium/$(date +%F).db'],
}

export const restoreSpec: CommandSpec = {
  name: 'restore',
  summary: summaries.restore,
  positionals: [{ name: 'BACKUP', help: 'a file made by hafnium backup (BACKUP.key beside it is restored too)' }],
  options: { ...common, force: { type: 'boolean', help: 'replace an existing database' } },
  notes: `Stop the server first: a database in use is never overwritten. The backup is checked before and
the result after the copy.`,
  examples: ['hafnium restore --config /etc/hafnium/server.config.json --force /var/backups/hafnium/2026-12-01.db'],
}

interface Parsed {
  config?: string
  db?: string
  force?: boolean
  positionals: string[]
}

function parse(spec: CommandSpec, args: string[]): Parsed | number {
  const parsed = parseCommand(spec, args)
  if ('exit' in parsed) return parsed.exit
  return { ...(parsed.values as Omit<Parsed, 'positionals'>), positionals: parsed.positionals }
}

function databasePath(name: string, parsed: Parsed): string | number {
  try {
    const { database } = loadConfig({ file: parsed.config, overrides: { database: { path: parsed.db } } })
    if (database.url) {
      // A PostgreSQL database is backed up with PostgreSQL's tools; this command copies the SQLite file.
      process.stderr.write(`hafnium ${name}: database.url is set: use pg_dump / pg_restore (and keep the outbox key, ${database.path}.key or HAFNIUM_OUTBOX_KEY)\n`)
      return 1
    }
    return database.path
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`hafnium ${name}: ${error.message}\n`)
    return 1
  }
}

export async function backup(args: string[]): Promise<number> {
  const parsed = parse(backupSpec, args)
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
  const parsed = parse(restoreSpec, args)
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
