// Applies migrations/postgres/NNN_*.sql in order, each in its own transaction, under an advisory lock:
// nodes starting together wait for the first, which migrates; the others then find nothing to do.
import pg from 'pg'
import { readMigrations } from '../migration-files.ts'

// Any fixed 64-bit key; only Hafnium's migrations take it.
const migrationLock = 0x4861666e69756d // "Hafnium"

/**
 * On a connection of its own, outside the pool: the pool's statement timeout must not cut a migration that
 * rewrites a large table, nor a node's wait on the lock while another node migrates.
 */
export async function migratePostgres(url: string): Promise<void> {
  const migrations = readMigrations('postgres')
  const client = new pg.Client({ connectionString: url, application_name: 'hafnium migrate' })
  await client.connect()
  try {
    // Session-level lock held across the per-file transactions; released at the end (or with the connection).
    await client.query('SELECT pg_advisory_lock($1)', [migrationLock])
    try {
      await client.query('CREATE TABLE IF NOT EXISTS hafnium_schema (version INTEGER NOT NULL)')
      const found = await client.query<{ version: number }>('SELECT version FROM hafnium_schema')
      let current = found.rows[0]?.version ?? 0
      if (found.rowCount === 0) await client.query('INSERT INTO hafnium_schema (version) VALUES (0)')
      if (current > migrations.length) {
        throw new Error(`database schema version ${current} is newer than this server (${migrations.length})`)
      }
      for (; current < migrations.length; current++) {
        await client.query('BEGIN')
        try {
          await client.query(migrations[current]!)
          await client.query('UPDATE hafnium_schema SET version = $1', [current + 1])
          await client.query('COMMIT')
        } catch (error) {
          await client.query('ROLLBACK')
          throw error
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrationLock])
    }
  } finally {
    await client.end().catch(() => {})
  }
}
