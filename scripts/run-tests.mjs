// npm test's runner: what `uvu DIR PATTERN` does (find the files, run them), then an exit once the run is
// over. uvu leaves the process to end by itself, so something a test left open — a failing test skips its
// cleanup, and on PostgreSQL a test server's pool and LISTEN connection stay up — held the whole run
// forever after its totals (CI's PostgreSQL pass hung so). Here the process gets 5 s to end by itself,
// then what is still open is named (test servers by where they were started) and it exits with uvu's code.
import { parse } from 'uvu/parse'
import { run } from 'uvu/run'

const [dir = '.', pattern] = process.argv.slice(2)
process.env.FORCE_COLOR ??= '1'
const { suites } = await parse(dir, pattern, { cwd: '.' })
await run(suites, {})
setTimeout(() => {
  const open = [...new Set(process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout'))]
  const servers = [...(globalThis.hafniumOpenTestServers ?? [])]
  console.error(`\nThe run is over, but it left ${open.join(', ') || 'handles'} open; exiting anyway.`)
  for (const { where } of servers) console.error(`  a test server never closed, started at ${where}`)
  process.exit(process.exitCode ?? 0)
}, 5000).unref()
