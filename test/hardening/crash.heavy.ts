// Heavy tier: 5 cycles of kill -9 at a random point during 1,000 concurrent registrations.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { crashDuringRegistrations } from './crash.ts'

test('5 × kill -9 during 1,000 concurrent registrations: 0 acknowledged-but-lost, integrity ok', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-crash-'))
  let acknowledged = 0
  for (let cycle = 1; cycle <= 5; cycle++) {
    const killAfter = 50 + Math.floor(Math.random() * 900)
    const result = await crashDuringRegistrations(dir, cycle, { count: 1000, sockets: 50, killAfter })
    console.log(`  cycle ${cycle}: killed after ${killAfter} acks; ${result.acknowledged} acknowledged, ${result.lost} lost, integrity ${result.integrity}`)
    assert.is(result.lost, 0)
    assert.is(result.integrity, 'ok')
    acknowledged += result.acknowledged
  }
  console.log(`  total: ${acknowledged} acknowledged registrations across 5 crashes, 0 lost`)
  rmSync(dir, { recursive: true, force: true })
})

test.run()
