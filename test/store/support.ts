// Opens the store under test on the engine HAFNIUM_TEST_ENGINE picks: on PostgreSQL three stores (three
// nodes' pools) on one fresh database, so a race is also a race between nodes; on SQLite one store
// (one process per file), handed out three times.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, type Store } from '../../src/store/index.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { createTestDatabase, testEngine } from '../support/engine.ts'

export interface TestStores {
  /** Three handles on one database: distinct nodes on PostgreSQL, the same store on SQLite. */
  nodes: [Store, Store, Store]
  store: Store
  close(): Promise<void>
}

export async function openTestStores(): Promise<TestStores> {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-store-'))
  const keyPath = join(dir, 'hafnium.db')
  if (testEngine === 'sqlite') {
    const store = openStore(keyPath, { synchronous: 'normal', busyTimeoutMs: 200 })
    return {
      nodes: [store, store, store],
      store,
      async close() {
        store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const database = await createTestDatabase()
  const nodes = (await Promise.all([0, 1, 2].map(() => openPostgresStore(database.url, { poolSize: 10, keyPath })))) as [Store, Store, Store]
  return {
    nodes,
    store: nodes[0],
    async close() {
      await Promise.all(nodes.map((node) => node.close()))
      await database.drop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Settles every promise and counts the outcomes by a label (the value, or the error's class name). */
export async function outcomes<T>(work: Promise<T>[], label: (value: T) => string = String): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const result of await Promise.allSettled(work)) {
    const reason = result.status === 'rejected' ? (result.reason as Error & { errID?: string }) : undefined
    const key = reason ? `${reason.constructor.name}:${reason.errID ?? reason.message}` : label((result as PromiseFulfilledResult<T>).value)
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}
