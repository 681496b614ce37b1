// Picks the better-sqlite3 build that is safe on the running Node; every `new Database` goes through here.
import { createRequire } from 'node:module'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * better-sqlite3 13 (node-addon-api) is the only line safe on Node ≥ 22: 12's legacy ObjectWrap
 * aborts the process on Node 24.19+ when a statement is finalized (nodejs/node#65446). 13 declares
 * engines >=22 and segfaults on Node 20, so Node 20/21 load 12, installed under the npm alias
 * `better-sqlite3-legacy` (an optional dependency: a machine on Node ≥ 22 without a compiler may skip it).
 */
export function driverFor(nodeVersion: string): 'better-sqlite3' | 'better-sqlite3-legacy' {
  return Number(nodeVersion.split('.')[0]) >= 22 ? 'better-sqlite3' : 'better-sqlite3-legacy'
}

export const driverPackage = driverFor(process.versions.node)

function load(): typeof BetterSqlite3 {
  const require = createRequire(import.meta.url)
  try {
    return require(driverPackage) as typeof BetterSqlite3
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_DLOPEN_FAILED') throw error
    throw new Error(
      `cannot load ${driverPackage} for Node ${process.versions.node} (${code}); ` +
        (driverPackage === 'better-sqlite3-legacy'
          ? 'on Node 20 it is built from source at install: install a C++ toolchain and run `npm rebuild better-sqlite3-legacy`, or use Node ≥ 22'
          : 'run `npm install` again on this Node'),
      { cause: error },
    )
  }
}

/** The better-sqlite3 `Database` constructor for this runtime (types from `@types/better-sqlite3`). */
const Database: typeof BetterSqlite3 = load()
export default Database
export type { Database as SqliteDatabase, Statement } from 'better-sqlite3'
