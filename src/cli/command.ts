// Declarative CLI commands: one spec gives the parser, `--help` (usage, options, an example) and one-line usage errors.
import { parseArgs } from 'node:util'

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** The value's placeholder in help (`FILE`, `MS`); string options only. */
  value?: string
  help: string
}

export interface CommandSpec {
  /** The words after `hafnium`: `serve`, `user add`. */
  name: string
  /** One line, shown in the parent command's list. */
  summary: string
  positionals?: { name: string; help: string; optional?: boolean }[]
  options?: Record<string, OptionSpec>
  /** At least one, run as written. */
  examples: string[]
  /** Paragraphs after the options. */
  notes?: string
}

export type Values = Record<string, string | boolean | undefined>

/** What a command's parse gives: the values, or the exit code after help or a usage error was printed. */
export type Parsed = { values: Values; positionals: string[] } | { exit: 0 | 2 }

const helpOption: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' }

export function helpText(spec: CommandSpec): string {
  const options = { ...spec.options, help: helpOption }
  const args = (spec.positionals ?? []).map((p) => (p.optional ? `[${p.name}]` : p.name))
  const lines = [`usage: hafnium ${[spec.name, ...args].join(' ')} [options]`, '', spec.summary]
  const rows: [string, string][] = (spec.positionals ?? []).map((p) => [p.name, p.help])
  for (const [name, option] of Object.entries(options)) {
    const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`
    rows.push([flag, option.help])
  }
  const width = Math.max(...rows.map(([left]) => left.length))
  lines.push('', ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`))
  if (spec.notes) lines.push('', spec.notes.trimEnd())
  lines.push('', spec.examples.length > 1 ? 'examples:' : 'example:', ...spec.examples.map((e) => `  ${e}`))
  return `${lines.join('\n')}\n`
}

/** One line naming the problem and pointing at --help; exit status 2. */
export function usageError(spec: Pick<CommandSpec, 'name'>, message: string, stderr: NodeJS.WritableStream = process.stderr): { exit: 2 } {
  stderr.write(`hafnium ${spec.name}: ${message} (see hafnium ${spec.name} --help)\n`)
  return { exit: 2 }
}

export function parseCommand(spec: CommandSpec, args: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Parsed {
  const stdout = io.stdout ?? process.stdout
  const stderr = io.stderr ?? process.stderr
  const options = Object.fromEntries(
    Object.entries({ ...spec.options, help: helpOption }).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
  )
  let parsed
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (error) {
    return usageError(spec, parseProblem(error as Error & { code?: string }), stderr)
  }
  if (parsed.values.help) {
    stdout.write(helpText(spec))
    return { exit: 0 }
  }
  const expected = spec.positionals ?? []
  const required = expected.filter((p) => !p.optional).length
  if (parsed.positionals.length < required) return usageError(spec, `missing ${expected[parsed.positionals.length]!.name}`, stderr)
  if (parsed.positionals.length > expected.length) return usageError(spec, `unexpected argument "${parsed.positionals[expected.length]}"`, stderr)
  return { values: parsed.values as Values, positionals: parsed.positionals }
}

/** node:util's messages are long and suggest `--`; say the one thing wrong instead. */
function parseProblem(error: Error & { code?: string }): string {
  const unknown = /Unknown option '([^']+)'/.exec(error.message)?.[1]
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) return `unknown option ${unknown}`
  const missing = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(error.message)?.[1]
  if (missing) return `${missing} needs a value`
  const noValue = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(error.message)?.[1]
  if (noValue) return `${noValue} takes no value`
  return error.message.split('\n')[0]!
}

/** ws:// or wss:// only: the CLI refuses http:// and bare host:port rather than guess. */
export function wsUrlProblem(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `"${url}" is not a URL (expected ws://HOST:PORT/ or wss://HOST/PATH)`
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return `"${url}" is not a ws:// or wss:// URL`
  return undefined
}

/** A `hafnium` command as main.ts registers it: a new command is one entry in its list. */
export interface Command {
  name: string
  summary: string
  run(args: string[]): Promise<number>
}

/** Help for a command with subcommands (`hafnium user`): the list, then where each one's help is. */
export function groupHelp(name: string, summary: string, subcommands: CommandSpec[], notes = ''): string {
  const short = (s: CommandSpec) => s.name.slice(name.length + 1)
  const width = Math.max(...subcommands.map((s) => short(s).length))
  const lines = [`usage: hafnium ${name} <command> [options]`, '', summary, '', 'commands:']
  for (const s of subcommands) lines.push(`  ${short(s).padEnd(width)}  ${s.summary}`)
  lines.push('', `"hafnium ${name} <command> --help" shows a command's options and an example.`)
  if (notes) lines.push('', notes.trimEnd())
  return `${lines.join('\n')}\n`
}
