// The one entry the server and the admin CLI open their store by: PostgreSQL when database.url is set,
// else the embedded SQLite file.
import type { Config } from '../types/schemas.ts'
import { openStore, type Store, type StoreOptions } from './index.ts'

export async function openConfiguredStore(database: Config['database'], options: Pick<StoreOptions, 'lock' | 'checkpoints' | 'log'> = {}): Promise<Store> {
  // Loaded only here: a server on SQLite keeps pg and the PostgreSQL store's code out of its heap.
  if (database.url) return (await import('./postgres/index.ts')).openPostgresStore(database.url, { poolSize: database.poolSize ?? 10, statementTimeoutMs: database.statementTimeoutMs, keyPath: database.path })
  return openStore(database.path, { ...database, ...options })
}
