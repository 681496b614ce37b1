// Serves the browser example: public/ as static files and src/main.ts bundled by esbuild on each request (in memory).
// `npm run example:browser [-- --port 8090]`; the test starts it in-process with startExampleServer().
import { context, type Metafile } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export interface ExampleServer {
  /** http://host:port/ — add `?server=ws://…` to point the page at a Hafnium server. */
  url: string
  /** The bundle's input files (from esbuild's metafile), relative to the working directory. */
  inputs: string[]
  close(): Promise<void>
}

/**
 * Builds once (so a broken page fails here, with esbuild's message) and serves. `platform: 'browser'`
 * makes any Node-only import a build error; `@hafnium/client` resolves as an app's would, through its
 * package.json exports (the workspace's built dist/).
 */
export async function startExampleServer(options: { host?: string; port?: number; quiet?: boolean } = {}): Promise<ExampleServer> {
  const ctx = await context({
    entryPoints: { app: here('./src/main.ts') },
    outdir: here('./public'),
    write: false, // served from memory; nothing lands in public/
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    sourcemap: 'inline',
    metafile: true,
    logLevel: options.quiet ? 'silent' : 'info',
  })
  try {
    const { metafile } = await ctx.rebuild()
    const host = options.host ?? '127.0.0.1'
    const { port } = await ctx.serve({ servedir: here('./public'), host, port: options.port ?? 0 })
    return { url: `http://${host}:${port}/`, inputs: Object.keys((metafile as Metafile).inputs), close: () => ctx.dispose() }
  } catch (error) {
    await ctx.dispose()
    throw error
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8090' } } })
  const server = await startExampleServer({ host: values.host, port: Number(values.port) })
  console.log(`The example page: ${server.url}?server=ws://127.0.0.1:7777/  (Ctrl-C stops)`)
  // Ctrl-C is how this is meant to end: exit 0, like npm start, not 130 by signal.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close().then(() => process.exit(0)))
}
