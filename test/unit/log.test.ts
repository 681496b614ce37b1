// Log lines: secrets redacted, an error's symbolic code kept (as errorCode) for operators.
import { Writable } from 'node:stream'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLogger } from '../../src/log.ts'

function capture() {
  const lines: Record<string, any>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    },
  })
  return { log: createLogger('info', stream), lines }
}

test('an error keeps its symbolic code as errorCode; a code that could be a secret stays redacted', () => {
  const { log, lines } = capture()
  log.warn({ err: Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }) }, 'storage')
  log.warn({ err: Object.assign(new Error('odd'), { code: '482913' }) }, 'odd')
  log.info({ code: '482913', payload: { password: 'balcony-scene-2', code: '111111' } }, 'secrets')
  assert.is(lines[0]!.err.errorCode, 'SQLITE_FULL')
  assert.is(lines[0]!.err.code, undefined)
  assert.is(lines[1]!.err.code, '[redacted]')
  assert.is(lines[2]!.code, '[redacted]')
  assert.equal(lines[2]!.payload, { password: '[redacted]', code: '[redacted]' })
})

test.run()
