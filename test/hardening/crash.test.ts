// Smoke tier: one kill -9 during 200 concurrent registrations loses no acknowledged account.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { crashDuringRegistrations } from './crash.ts'

test('kill -9 mid-registration: acknowledged accounts survive, integrity_check ok', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-crash-'))
  const result = await crashDuringRegistrations(dir, 0, { count: 200, sockets: 20, killAfter: 60 })
  assert.ok(result.acknowledged >= 60)
  assert.is(result.lost, 0)
  assert.is(result.integrity, 'ok')
  rmSync(dir, { recursive: true, force: true })
})

test.run()
