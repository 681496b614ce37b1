// The REPL's history file: where it is, what may be saved in it (never a line with a secret), load and save.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

export const historyHint = '~/.hafnium_history (HAFNIUM_HISTORY=FILE elsewhere, HAFNIUM_HISTORY= for none); lines that carry a password, token or code are not saved'

/** Where the REPL keeps its history, or undefined for none. */
export function historyFile(env: Record<string, string | undefined>): string | undefined {
  const configured = env.HAFNIUM_HISTORY
  if (configured !== undefined) return configured === '' ? undefined : configured
  return join(homedir(), '.hafnium_history')
}

/** Lines that hold a secret stay in memory only: never store a password, token or code in the clear. */
export function savable(line: string): boolean {
  return !/^\s*(login|register|upgrade|ticket|auth)\b/.test(line) && !/password|token|code|secret/i.test(line)
}

export function loadHistory(file: string | undefined): string[] {
  if (!file) return []
  try {
    // readline keeps the newest entry first; the file is oldest first, like a shell's.
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').reverse().slice(0, 1000)
  } catch {
    return []
  }
}

export function saveHistory(file: string | undefined, history: string[]): void {
  if (!file) return
  try {
    const lines = history.filter(savable).reverse()
    writeFileSync(file, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 })
    chmodSync(file, 0o600) // `mode` applies only when the file is created
  } catch {
    // A read-only home must not break the REPL.
  }
}
