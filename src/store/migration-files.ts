// Schema migrations as numbered SQL files per engine: migrations/<engine>/NNN_<what>.sql, applied in order.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// Beside src/ and dist/ alike (the package ships migrations/).
const root = fileURLToPath(new URL('../../migrations/', import.meta.url))

/** The engine's migrations, in order; their numbers must run 1, 2, 3 … without gaps. */
export function readMigrations(engine: 'sqlite' | 'postgres'): string[] {
  const dir = root + engine
  const files = readdirSync(dir).filter((name) => /^\d{3}_[a-z0-9_]+\.sql$/.test(name)).sort()
  return files.map((name, index) => {
    if (Number(name.slice(0, 3)) !== index + 1) throw new Error(`migrations/${engine}: ${name} is out of sequence (expected ${index + 1})`)
    return readFileSync(`${dir}/${name}`, 'utf8')
  })
}
