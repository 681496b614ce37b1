// A connection's queue when routing itself fails (a bug on the router's path, thrown at once or later):
// that frame is answered internal_error and logged, the frames behind it are answered in order, and
// drain() waits for all of them. Driven with a fake socket and router: no server could be made to fail so.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type WebSocket from 'ws'
import type { Logger } from 'pino'
import { LiveConnection } from '../../src/connection.ts'
import type { Router } from '../../src/router.ts'

test('a frame whose routing throws or rejects is answered internal_error; the others in order; drain() waits for them', async () => {
  const sent: string[] = []
  const socket = { on() {}, readyState: 1, OPEN: 1, CLOSED: 3, bufferedAmount: 0, send: (frame: string) => sent.push(frame), close() {} }
  const router: Router = {
    route(_conn, raw) {
      if (raw === 'throws') throw new Error('router bug, at once')
      if (raw === 'rejects') return Promise.reject(new Error('router bug, later'))
      return raw === 'slow' ? new Promise((resolve) => setTimeout(() => resolve('reply:slow'), 20)) : 'reply:' + raw
    },
    refuse: (raw, errID) => `${errID}:${raw}`,
    types: [],
  }
  const errors: { connection?: string; msg: string }[] = []
  const log = { error: (obj: { connection?: string }, msg: string) => errors.push({ ...obj, msg }), warn() {}, debug() {}, info() {} } as unknown as Logger
  const conn = new LiveConnection(socket as unknown as WebSocket, 'c1', '192.0.2.1', '192.0.2.1', {
    domain: 'localhost', router, maxQueued: 8, authTimeoutMs: 1e6, maxBufferedBytes: 1e9, log, onAuthChange() {}, onClose() {},
  })
  for (const frame of ['a', 'throws', 'slow', 'rejects', 'b']) conn.receive(Buffer.from(frame), false)
  const drained = await Promise.race([conn.drain().then(() => 'drained'), new Promise((resolve) => setTimeout(() => resolve('drain() still waiting after 2 s'), 2000))])
  assert.is(drained, 'drained')
  assert.equal(sent, ['reply:a', 'internal_error:throws', 'reply:slow', 'internal_error:rejects', 'reply:b'])
  assert.equal(errors.map((e) => [e.connection, e.msg]), [['c1', 'routing a request failed; answered internal_error'], ['c1', 'routing a request failed; answered internal_error']])
})

test.run()
