// How many argon2id verifications per second this machine does with every core busy (the login ceiling).
import { hash, verify } from '@node-rs/argon2'
import { availableParallelism } from 'node:os'

const seconds = Number(process.argv[2] ?? 5)
const options = { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 2 as never }
const stored = await hash('correct horse battery staple', options)
let done = 0
const deadline = performance.now() + seconds * 1000
const started = performance.now()
await Promise.all(
  Array.from({ length: availableParallelism() * 2 }, async () => {
    while (performance.now() < deadline) {
      await verify(stored, 'correct horse battery staple')
      done++
    }
  }),
)
process.stdout.write(JSON.stringify({ perSecond: done / ((performance.now() - started) / 1000) }) + '\n')
