// The one entry the server and the admin CLI open their store by: PostgreSQL when database.url is set,
// else the embedded SQLite file.
import type { Config } from '../types/schemas.ts'
import { openStore, type Store, type StoreOptions } from './index.ts'
import { openPostgresStore } from './postgres/index.ts'

export async function openConfiguredStore(database: Config['database'], options: Pick<StoreOptions, 'lock' | 'checkpoints' | 'log'> = {}): Promise<Store> {
  if (database.url) return openPostgresStore(database.url, { poolSize: database.poolSize ?? 10, statementTimeoutMs: database.statementTimeoutMs, keyPath: database.path })
  return openStore(database.path, { ...database, ...options })
}
