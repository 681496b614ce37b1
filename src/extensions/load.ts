// Loads the configured extension modules at start: imports, checks their shape and names, compiles schemas.
// Anything wrong stops start-up with an ExtensionError naming the module and the type (contract §16).
import { existsSync } from 'node:fs'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ValidateFunction } from 'ajv'
import { createAjv, unboundedChecks } from '../schemas.ts'
import type { ExtensionAuth, ExtensionContext } from './define.ts'
import { typeNameProblem } from './notify.ts'

export class ExtensionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExtensionError'
  }
}

/** One extension type, ready for the router. */
export interface LoadedType {
  /** The module's path, for messages and logs. */
  module: string
  type: string
  auth: ExtensionAuth
  validate: ValidateFunction
  handle(ctx: ExtensionContext): unknown
}

/**
 * Imports each module (paths are absolute once the config is loaded; a relative one is taken from the
 * working directory) and returns its types. `builtIn` are the server's own types, which no module may take.
 */
export async function loadExtensions(paths: readonly string[], builtIn: ReadonlySet<string>): Promise<LoadedType[]> {
  const ajv = createAjv()
  const loaded: LoadedType[] = []
  const owner = new Map<string, string>()
  for (const given of paths) {
    const path = resolve(given)
    const types = typesOf(await importModule(path), path)
    for (const [type, spec] of Object.entries(types)) {
      const fail = (why: string) => new ExtensionError(`extension ${path}: type ${type}: ${why}`)
      if (builtIn.has(type)) throw fail(`collides with the built-in type ${type}`)
      const problem = typeNameProblem(type)
      if (problem) throw fail(`the name ${problem}`)
      const other = owner.get(type)
      if (other) throw fail(`is also defined by extension ${other}`)
      owner.set(type, path)
      if (typeof spec !== 'object' || spec === null) throw fail('is not an object {auth, schema, handle}')
      const { auth, schema, handle } = spec as Record<string, unknown>
      if (auth !== 'none' && auth !== 'required') throw fail(`auth must be "none" or "required", got ${JSON.stringify(auth)}`)
      if (typeof handle !== 'function') throw fail('handle must be a function')
      if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw fail('schema must be a JSON Schema object')
      const unbounded = unboundedChecks(schema)
      if (unbounded.length > 0) throw fail(`schema is refused (ajv security advice): ${unbounded.join('; ')}`)
      let validate: ValidateFunction
      try {
        validate = ajv.compile(schema)
      } catch (error) {
        throw fail(`invalid schema: ${(error as Error).message}`)
      }
      loaded.push({ module: path, type, auth, validate, handle: handle as LoadedType['handle'] })
    }
  }
  return loaded
}

async function importModule(path: string): Promise<unknown> {
  if (!existsSync(path)) throw new ExtensionError(`extension ${path}: cannot load: no such file`)
  const url = pathToFileURL(path).href
  try {
    return await import(url)
  } catch (error) {
    // Plain Node cannot import TypeScript: tsx (when installed) loads it, scoped to this import.
    if ((error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION' && ['.ts', '.mts'].includes(extname(path))) return importTypeScript(path, url)
    throw new ExtensionError(`extension ${path}: cannot load: ${describe(error)}`)
  }
}

async function importTypeScript(path: string, url: string): Promise<unknown> {
  let tsImport: (specifier: string, parent: string) => Promise<unknown>
  try {
    ;({ tsImport } = (await import('tsx/esm/api')) as { tsImport: typeof tsImport })
  } catch {
    throw new ExtensionError(`extension ${path}: cannot load TypeScript without tsx: install tsx, or compile the extension to JavaScript`)
  }
  try {
    return await tsImport(url, import.meta.url)
  } catch (error) {
    throw new ExtensionError(`extension ${path}: cannot load: ${describe(error)}`)
  }
}

function typesOf(module: unknown, path: string): Record<string, unknown> {
  const extension = (module as { default?: unknown } | null)?.default
  if (typeof extension !== 'object' || extension === null) {
    throw new ExtensionError(`extension ${path}: has no default export; it must export default { types: { 'namespace:name': {auth, schema, handle} } }`)
  }
  const types = (extension as { types?: unknown }).types
  if (typeof types !== 'object' || types === null || Array.isArray(types) || Object.keys(types).length === 0) {
    throw new ExtensionError(`extension ${path}: its default export has no "types" object naming at least one message type`)
  }
  return types as Record<string, unknown>
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
