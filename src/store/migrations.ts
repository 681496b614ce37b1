// Numbered schema migrations, from migrations/sqlite/NNN_*.sql; PRAGMA user_version records how many have run.
import { readMigrations } from './migration-files.ts'

export const migrations: readonly string[] = readMigrations('sqlite')
