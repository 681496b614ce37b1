// A start-up that fails after the store (and, on PostgreSQL, the cluster bus) opened closes them again:
// the SQLite file's lock is released and nothing holds the process open.
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer } from '../../support/server.ts'

test('a port in use fails start-up, and the same database then starts on another port', async () => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  const port = (taken.address() as { port: number }).port
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-start-failure-'))
  try {
    let refused: unknown
    await startTestServer({ server: { port, host: '127.0.0.1' } }, { dir }).then(
      (t) => t.close(),
      (error: unknown) => (refused = error),
    )
    assert.match(String((refused as { code?: string } | undefined)?.code), /EADDRINUSE/, 'the port in use refused start-up')
    const t = await startTestServer({}, { dir })
    try {
      assert.ok((await (await t.connect()).request('server:ping')).ok, 'the database was released and serves again')
    } finally {
      await t.close()
    }
  } finally {
    taken.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
