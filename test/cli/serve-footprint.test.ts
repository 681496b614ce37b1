// What `hafnium serve` loads: a server on its SQLite file, logging JSON, with no providers, no tickets and no
// SMTP, keeps the libraries of what it does not use (pg, nodemailer, openid-client, jose, pino-pretty) out of
// its heap: each was loaded at start-up before, ~5 MB of a ~17 MB heap after start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from '../support/client.ts'
import { runCli } from '../support/process.ts'
import { within } from '../support/within.ts'

// Names every package the server loads, by import or by require, on stderr.
const preload = fileURLToPath(new URL('../support/footprint-preload.mjs', import.meta.url))

test('a SQLite server logging JSON loads neither pg, nodemailer, openid-client, oauth4webapi, jose nor pino-pretty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-footprint-'))
  try {
    const config = join(dir, 'config.json')
    writeFileSync(config, JSON.stringify({ database: { path: join(dir, 'h.db') }, log: { level: 'warn', format: 'json' } }))
    const server = runCli(['serve', '--config', config, '--port', '0'], { built: true, env: { NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` } })
    const url = await within(server.ready, 30_000, 'the server to print its listening line')
    // A request served, so what a request needs is loaded too.
    const client = await connect(url)
    assert.ok((await client.request('profile:register', { username: 'footprint', password: 'a-fine-password', loginOnSuccess: true })).ok)
    client.terminate()
    // 'close', not 'exit': every line of stderr read, including what was loaded while shutting down.
    const closed = new Promise((resolve) => server.child.once('close', resolve))
    server.child.kill('SIGTERM')
    await within(closed, 30_000, 'the server to exit after SIGTERM and close its output')
    const loaded = new Set([...server.output().matchAll(/^footprint: (\S+)$/gm)].map((m) => m[1]!))
    // The hooks see what is loaded: these are, by import, and better-sqlite3 by require (src/store/driver.ts;
    // better-sqlite3-legacy on Node 20).
    for (const used of ['ws', 'ajv', 'pino', 'prom-client']) assert.ok(loaded.has(used), `${used} not seen loaded: ${[...loaded].join(', ')}`)
    assert.ok(loaded.has('better-sqlite3') || loaded.has('better-sqlite3-legacy'), `better-sqlite3 not seen loaded by require: ${[...loaded].join(', ')}`)
    const unused = ['pg', 'nodemailer', 'openid-client', 'oauth4webapi', 'jose', 'pino-pretty'].filter((name) => loaded.has(name))
    assert.equal(unused, [], `loaded without being used: ${unused.join(', ')}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
