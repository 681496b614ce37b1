// Captcha cost: the client library's solve time at the configured difficulty, and the server's cost to
// create a challenge and to verify a solution (README > Captcha).
// node --import tsx bench/captcha.ts [samples] [maxCounter]
import { solveChallenge } from '@hafnium/client'
import { loadConfig } from '../src/config.ts'
import { createCaptcha } from '../src/auth/captcha.ts'
import type { CaptchaStore } from '../src/store/captcha.ts'

const samples = Number(process.argv[2] ?? 20)
const { captcha: configured } = loadConfig()
const options = { ...configured, maxCounter: Number(process.argv[3] ?? configured.maxCounter) }
let spent = 0
// The real store only adds one INSERT; kept out so the figure is the captcha's own work.
const store: CaptchaStore = { secrets: { challenge: 'c'.repeat(64), key: 'k'.repeat(64) }, spend: async () => (spent++, true), prune: async () => 0 }
const captcha = createCaptcha(options, store)

const cpuPer = (started: NodeJS.CpuUsage, n: number) => (({ user, system }) => (user + system) / 1000 / n)(process.cpuUsage(started))
const solveMs: number[] = []
const solveCpu = process.cpuUsage()
const payloads: string[] = []
for (let i = 0; i < samples; i++) {
  const challenge = await captcha.challenge()
  const started = performance.now()
  const solution = await solveChallenge(challenge)
  solveMs.push(performance.now() - started)
  payloads.push(Buffer.from(JSON.stringify({ challenge, solution })).toString('base64'))
}
const solveCpuMs = cpuPer(solveCpu, samples)
solveMs.sort((a, b) => a - b)

const rounds = 5000
let cpu = process.cpuUsage()
let wall = performance.now()
for (let i = 0; i < rounds; i++) await captcha.verify(payloads[i % samples]!)
const verify = { wall: +((performance.now() - wall) / rounds).toFixed(4), cpu: +cpuPer(cpu, rounds).toFixed(4) }
cpu = process.cpuUsage()
wall = performance.now()
for (let i = 0; i < rounds; i++) await captcha.challenge()
const create = { wall: +((performance.now() - wall) / rounds).toFixed(4), cpu: +cpuPer(cpu, rounds).toFixed(4) }
console.log(
  JSON.stringify({
    node: process.version,
    maxCounter: options.maxCounter,
    solveMs: { median: Math.round(solveMs[samples >> 1]!), mean: Math.round(solveMs.reduce((a, b) => a + b) / samples), max: Math.round(solveMs.at(-1)!), cpuMean: Math.round(solveCpuMs) },
    verifyMs: verify,
    challengeMs: create,
    verified: spent,
  }),
)
