// Loads the configured extension modules at start: imports, checks their shape and names, compiles schemas.
// Anything wrong stops start-up with an ExtensionError naming the module and the type (contract §16).
import { existsSync } from 'node:fs'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ValidateFunction } from 'ajv'
import { createAjv, unboundedChecks } from '../schemas.ts'
import type { ExtensionAuth, ExtensionContext, ExtensionLifecycle } from './define.ts'
import { typeNameProblem } from './notify.ts'

export class ExtensionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExtensionError'
  }
}

/** A loaded module's optional start/close hooks. */
export interface LoadedModule {
  path: string
  start?(ctx: ExtensionLifecycle): Promise<void> | void
  close?(): Promise<void> | void
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
export async function loadExtensions(paths: readonly string[], builtIn: ReadonlySet<string>): Promise<{ types: LoadedType[]; modules: LoadedModule[] }> {
  const ajv = createAjv()
  const loaded: LoadedType[] = []
  const modules: LoadedModule[] = []
  const owner = new Map<string, string>()
  for (const given of paths) {
    const path = resolve(given)
    const extension = defaultExport(await importModule(path), path)
    const types = typesOf(extension, path)
    const hooks: LoadedModule = { path }
    for (const hook of ['start', 'close'] as const) {
      const fn = extension[hook]
      if (fn === undefined) continue
      if (typeof fn !== 'function') throw new ExtensionError(`extension ${path}: ${hook} must be a function`)
      hooks[hook] = fn.bind(extension) as () => void
    }
    modules.push(hooks)
    for (const [type, spec] of Object.entries(types)) {
      const fail = (why: string) => new ExtensionError(`extension ${path}: type ${type}: ${why}`)
      if (builtIn.has(type)) throw fail(`collides with the built-in type ${type}`)
      const problem = typeNameProblem(type)
      if (problem) throw fail(problem)
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
      // An async validator returns a Promise, which the router would read as "valid".
      if ((validate as { $async?: boolean }).$async) throw fail('invalid schema: $async schemas are not supported (the payload is checked synchronously)')
      // Bound to its definition, so a handler written as a method may use `this` for its siblings.
      loaded.push({ module: path, type, auth, validate, handle: (handle as LoadedType['handle']).bind(spec) })
    }
  }
  return { types: loaded, modules }
}

/** Calls each module's start hook in order; a failure closes those already started and stops start-up naming the module. */
export async function startExtensions(modules: readonly LoadedModule[], ctx: ExtensionLifecycle): Promise<void> {
  for (const [index, module] of modules.entries()) {
    try {
      await module.start?.(ctx)
    } catch (error) {
      await closeExtensions(modules.slice(0, index), (path, err) => ctx.log.warn({ err, extension: path }, 'extension close failed'))
      throw new ExtensionError(`extension ${module.path}: start failed: ${describe(error)}`)
    }
  }
}

/** Calls every close hook (in reverse order); failures are reported, not thrown: the server must finish closing. */
export async function closeExtensions(modules: readonly LoadedModule[], onError: (module: string, error: unknown) => void): Promise<void> {
  for (const module of [...modules].reverse()) {
    try {
      await module.close?.()
    } catch (error) {
      onError(module.path, error)
    }
  }
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

function defaultExport(module: unknown, path: string): Record<string, unknown> {
  let extension = (module as { default?: unknown } | null)?.default
  // A .ts file outside an ES module package is compiled to CommonJS (tsx): its `export default` arrives one level down.
  const nested = (extension as { default?: { types?: unknown } } | null)?.default
  if (typeof extension === 'object' && extension !== null && !('types' in extension) && typeof nested === 'object' && nested !== null && 'types' in nested) extension = nested
  if (typeof extension !== 'object' || extension === null) {
    throw new ExtensionError(`extension ${path}: has no default export; it must export default { types: { 'namespace:name': {auth, schema, handle} } }`)
  }
  return extension as Record<string, unknown>
}

function typesOf(extension: Record<string, unknown>, path: string): Record<string, unknown> {
  const types = (extension as { types?: unknown }).types
  if (typeof types !== 'object' || types === null || Array.isArray(types) || Object.keys(types).length === 0) {
    throw new ExtensionError(`extension ${path}: its default export has no "types" object naming at least one message type`)
  }
  return types as Record<string, unknown>
}

/** One line: a loader's multi-line message (an esbuild location, a require stack) folded, the stack dropped. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const message = error.message.split('\nRequire stack:')[0]!.trim().replace(/:?\s*\n\s*/g, ': ')
  const hint = /Cannot find (module|package) 'hafnium(\/client)?'/.test(message)
    ? " (the extension imports hafnium: install it where the extension lives, npm install hafnium, or use plain objects without the import)"
    : ''
  return `${error.name}: ${message}${hint}`
}
