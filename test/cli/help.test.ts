// Every command explains itself: --help/-h (usage, options, an example), --version, one-line usage errors with exit 2.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { commands, main } from '../../src/cli/main.ts'
import { subcommands } from '../../src/cli/user.ts'
import { version } from '../../src/version.ts'

/** Runs main() in this process with stdout and stderr captured (help and usage errors are synchronous writes). */
async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const out = process.stdout.write
  const err = process.stderr.write
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write
  try {
    return { code: await main(argv), stdout, stderr }
  } finally {
    process.stdout.write = out
    process.stderr.write = err
  }
}

test('hafnium --help lists every registered command; --version prints the version', async () => {
  const { code, stdout } = await run('--help')
  assert.is(code, 0)
  for (const command of commands) assert.match(stdout, `\n  ${command.name} `, command.name)
  assert.match(stdout, 'example:')
  assert.equal(await run('--version'), { code: 0, stdout: `hafnium ${version}\n`, stderr: '' })
  assert.equal((await run('-v')).stdout, `hafnium ${version}\n`)
})

const leaves = [
  { argv: ['serve'], options: ['--config', '--host', '--port', '--db'] },
  { argv: ['client'], options: ['--domain', '--json', '--timeout'] },
  { argv: ['conformance'], options: ['--domain', '--skip', '--outbox', '--json', '--max-wait', '--timeout'] },
  { argv: ['backup'], options: ['--config', '--db'] },
  { argv: ['restore'], options: ['--config', '--db', '--force'] },
  { argv: ['ticket', 'sign'], options: ['--iss', '--sub', '--aud', '--alg', '--ttl', '--key-file', '--config'] },
  ...subcommands.map((s) => ({ argv: s.spec.name.split(' '), options: Object.keys(s.spec.options ?? {}).map((o) => `--${o}`) })),
]

test('every command and subcommand answers --help and -h with usage, its options and an example, exit 0', async () => {
  assert.ok(leaves.some((l) => l.argv.join(' ') === 'user delete') && leaves.some((l) => l.argv.join(' ') === 'user show'))
  for (const { argv, options } of leaves) {
    const name = argv.join(' ')
    const long = await run(...argv, '--help')
    assert.is(long.code, 0, name)
    assert.ok(long.stdout.startsWith(`usage: hafnium ${name}`), `${name}: ${long.stdout}`)
    for (const option of [...options, '--help']) assert.match(long.stdout, option, `${name} documents ${option}`)
    assert.match(long.stdout, /\nexamples?:\n {2}\S/, `${name} shows an example`)
    assert.equal(await run(...argv, '-h'), long, `${name} -h`)
  }
  const group = await run('user', '--help')
  assert.is(group.code, 0)
  for (const s of subcommands) assert.match(group.stdout, `\n  ${s.spec.name.slice(5)}`)
})

test('an unknown option: one line naming it and pointing at --help, exit 2', async () => {
  for (const { argv } of leaves) {
    const name = argv.join(' ')
    const result = await run(...argv, '--bogus-flag')
    assert.equal(result, { code: 2, stdout: '', stderr: `hafnium ${name}: unknown option --bogus-flag (see hafnium ${name} --help)\n` }, name)
  }
  assert.equal(await run('--bogus'), { code: 2, stdout: '', stderr: 'hafnium: unknown option --bogus (see hafnium --help)\n' })
  assert.equal(await run('user', 'frobnicate'), { code: 2, stdout: '', stderr: 'hafnium user: unknown command "frobnicate" (see hafnium user --help)\n' })
  assert.equal((await run('serve', '--port')).stderr, 'hafnium serve: --port needs a value (see hafnium serve --help)\n')
})

test('client and conformance refuse URLs that are not ws:// or wss://, exit 2', async () => {
  for (const command of ['client', 'conformance']) {
    for (const url of ['http://127.0.0.1:7777/', 'localhost:7777']) {
      const result = await run(command, url)
      assert.is(result.code, 2, `${command} ${url}`)
      assert.match(result.stderr, new RegExp(`^hafnium ${command}: ".*" is not a .*\\(see hafnium ${command} --help\\)\\n$`))
    }
  }
})

test.run()
