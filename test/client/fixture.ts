// The real server a client-library suite talks to, and the clients its tests open on it: one server per
// suite, every client closed after the suite whatever its tests did.
import type { Test } from 'uvu'
import type { DeepPartial } from '../../src/config.ts'
import { HafniumClient, type ClientOptions } from '../../src/client/index.ts'
import type { Config } from '../../src/types/schemas.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

export interface ClientSuite {
  t: TestServer
  clients: HafniumClient[]
}

/** Starts the server before the suite's tests, `seed` run with a client of it (then closed); closes all after. */
export function useClientServer<C extends ClientSuite>(test: Test<C>, options: { config?: DeepPartial<Config>; seed?: (client: HafniumClient) => Promise<void> } = {}): void {
  test.before(async (ctx) => {
    ctx.t = await startTestServer(options.config)
    ctx.clients = []
    if (!options.seed) return
    const c = await HafniumClient.connect(ctx.t.url)
    await options.seed(c)
    await c.close()
  })
  test.after(async (ctx) => {
    await Promise.all((ctx.clients ?? []).map((c) => c.close()))
    await ctx.t?.close()
  })
}

/** A client of the suite's server, closed with it. */
export async function open(ctx: ClientSuite, options: ClientOptions = {}): Promise<HafniumClient> {
  const client = await HafniumClient.connect(ctx.t.url, options)
  ctx.clients.push(client)
  return client
}
