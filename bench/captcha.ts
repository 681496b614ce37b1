// Captcha cost at the shipped difficulty: client solve time and server verification cost (README > Captcha).
// node --import tsx bench/captcha.ts [samples]
import { solveChallenge } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/sha'
import { loadConfig } from '../src/config.ts'
import { createCaptcha } from '../src/auth/captcha.ts'
import type { CaptchaStore } from '../src/store/captcha.ts'

const samples = Number(process.argv[2] ?? 20)
const { captcha: options } = loadConfig()
let spent = 0
// The real store only adds one INSERT; kept out so the figure is altcha's work.
const store: CaptchaStore = { secrets: { challenge: 'c'.repeat(64), key: 'k'.repeat(64) }, spend: async () => (spent++, true), prune: async () => 0 }
const captcha = createCaptcha(options, store)

const solveMs: number[] = []
const solveCpu = process.cpuUsage()
const payloads: string[] = []
for (let i = 0; i < samples; i++) {
  const challenge = await captcha.challenge()
  const started = performance.now()
  const solution = await solveChallenge({ challenge, deriveKey })
  solveMs.push(performance.now() - started)
  payloads.push(Buffer.from(JSON.stringify({ challenge, solution })).toString('base64'))
}
const solveCpuMs = (({ user, system }) => (user + system) / 1000 / samples)(process.cpuUsage(solveCpu))
solveMs.sort((a, b) => a - b)
const cpu = process.cpuUsage()
const wall = performance.now()
const rounds = 2000
for (let i = 0; i < rounds; i++) await captcha.verify(payloads[i % samples]!)
const used = process.cpuUsage(cpu)
console.log(
  JSON.stringify({
    maxCounter: options.maxCounter,
    solveMs: { median: Math.round(solveMs[samples >> 1]!), mean: Math.round(solveMs.reduce((a, b) => a + b) / samples), max: Math.round(solveMs.at(-1)!), cpuMean: Math.round(solveCpuMs) },
    verifyMs: { wall: +((performance.now() - wall) / rounds).toFixed(3), cpu: +((used.user + used.system) / 1000 / rounds).toFixed(3) },
    verified: spent,
  }),
)
