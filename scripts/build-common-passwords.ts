// Rebuilds data/common-passwords.txt from the rank-ordered list in @zxcvbn-ts/language-common (see data/README.md).
//
// Usage (the package is unpacked outside the project, never installed into it):
//   cd /tmp && npm pack @zxcvbn-ts/language-common@4.1.3 && tar xzf zxcvbn-ts-language-common-4.1.3.tgz
//   node --import tsx scripts/build-common-passwords.ts /tmp/package/src/passwords.json [count=10000]
import { readFileSync, writeFileSync } from 'node:fs'

const [source, countArg = '10000'] = process.argv.slice(2)
if (!source) {
  console.error('usage: build-common-passwords.ts <path to passwords.json> [count]')
  process.exit(2)
}
const count = Number(countArg)
if (!Number.isInteger(count) || count < 1) {
  console.error(`count must be a positive integer, got ${countArg}`)
  process.exit(2)
}

const ranked: unknown = JSON.parse(readFileSync(source, 'utf8'))
if (!Array.isArray(ranked) || !ranked.every((p) => typeof p === 'string')) {
  console.error(`${source} is not a JSON array of strings`)
  process.exit(1)
}

// Same folding as checkPasswordPolicy (NFKC, then lowercase) so a lookup can never miss on form alone;
// a Set keeps first-seen (highest-rank) order while dropping duplicates.
const entries = new Set<string>()
for (const password of ranked as string[]) {
  const folded = password.normalize('NFKC').toLowerCase()
  if (folded === '' || /[\r\n]/.test(folded)) continue // one entry per line, no blanks
  entries.add(folded)
  if (entries.size === count) break
}

const target = new URL('../data/common-passwords.txt', import.meta.url)
writeFileSync(target, [...entries].join('\n') + '\n')
console.log(`wrote ${entries.size} entries to ${target.pathname}`)
