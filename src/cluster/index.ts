// Picks the cluster bus: PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL, nothing to tell otherwise.
import type { Logger } from 'pino'
import type { Config } from '../types/schemas.ts'
import { createLocalBus, type ClusterBus } from './bus.ts'

/**
 * `database.url` (postgres://…, from the PostgreSQL store) puts every node of that database on one
 * channel; without it this node is alone (SQLite allows one server per file) and publishing is a no-op.
 * A database that cannot be reached at start stops start-up, as the store does.
 */
export async function createBus(config: Readonly<Config>, node: string, log: Logger): Promise<ClusterBus> {
  // Read loosely: database.url arrives with the PostgreSQL store.
  const url = (config.database as { url?: string | null }).url
  if (!url || !/^postgres(ql)?:\/\//.test(url)) return createLocalBus(node)
  // Loaded only here, as the PostgreSQL store is (store/open.ts).
  const { createPostgresBus } = await import('./postgres-bus.ts')
  const bus = createPostgresBus({ url, node, log: log.child({ component: 'cluster-bus' }) })
  try {
    await bus.ready
  } catch (err) {
    await bus.close()
    throw err
  }
  return bus
}
