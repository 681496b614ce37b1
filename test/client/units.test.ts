// Pure parts of the client and the REPL: reply matching, completion, envelope filling, the colour rule, the emitter.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { completeEnvelope, complete } from '../../src/cli/client-complete.ts'
import { useColour } from '../../src/cli/client-format.ts'
import { createDispatcher, type Waiter } from '../../packages/client/src/dispatch.ts'
import { createEmitter } from '../../packages/client/src/emitter.ts'

const test = suite('client: units')

const types = ['profile:get', 'profile:login', 'server:info', 'server:ping']

test('Tab completes commands and message types first, types after "send"', () => {
  assert.equal(complete('prof', types), [['profile:get', 'profile:login'], 'prof'])
  assert.equal(complete('lo', types), [['login', 'logout'], 'lo'])
  assert.equal(complete('send server:p', types), [['server:ping'], 'server:p'])
  assert.equal(complete('login juli', types), [[], 'juli'])
})

test('a JSON line with a type gets the id, to and payload it lacks; other lines are sent as written', () => {
  const filled = JSON.parse(completeEnvelope('{"type": "server:ping"}', 'localhost'))
  assert.match(filled.id, /^cli\d+$/)
  assert.equal({ ...filled, id: 'x' }, { id: 'x', to: 'localhost', payload: {}, type: 'server:ping' })
  assert.equal(JSON.parse(completeEnvelope('{"id": 5, "type": "t", "to": "a", "payload": []}', 'localhost')), { id: 5, to: 'a', payload: [], type: 't' })
  for (const line of ['not json', '[1]', '{"id": "x"}', 'null']) assert.is(completeEnvelope(line, 'localhost'), line)
})

test('colour: only on a terminal, FORCE_COLOR forces it, NO_COLOR (non-empty) forbids it', () => {
  assert.is(useColour({ isTTY: true }, {}), true)
  assert.is(useColour({ isTTY: false }, {}), false)
  assert.is(useColour({}, { FORCE_COLOR: '1' }), true)
  assert.is(useColour({}, { FORCE_COLOR: '0' }), false)
  assert.is(useColour({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }), false)
  assert.is(useColour({ isTTY: true }, { NO_COLOR: '' }), true)
})

test('dispatch: ids first; a reply with an unknown id goes to the oldest unanswered raw frame; events and strays aside', () => {
  const got: string[] = []
  const dispatcher = createDispatcher({
    reply: () => {},
    event: (event) => void got.push(`event ${event.type}`),
    stray: (_frame, text) => void got.push(`stray ${text}`),
  })
  const waiter = (name: string, id?: string): Waiter => ({
    id,
    type: 't',
    payload: undefined,
    resolve: (reply) => void got.push(`${name} <- ${reply.id === '' ? '""' : reply.id}`),
    reject: () => void got.push(`${name} rejected`),
  })
  dispatcher.expect(waiter('a', 'x1'), { ordered: false, timeoutMs: 0 })
  dispatcher.expect(waiter('raw1'), { ordered: true, timeoutMs: 0 })
  dispatcher.expect(waiter('raw2', 'r2'), { ordered: true, timeoutMs: 0 })
  dispatcher.expect(waiter('raw3'), { ordered: true, timeoutMs: 0 })
  const frame = (id: string, type = 't') => dispatcher.frame(JSON.stringify({ id, type, from: 'd', ok: true, payload: {} }))
  frame('ev:1', 'device:new_login')
  frame('x1')
  frame('')
  frame('r2')
  frame('')
  frame('zzz')
  dispatcher.frame('not json')
  assert.equal(got, ['event device:new_login', 'a <- x1', 'raw1 <- ""', 'raw2 <- r2', 'raw3 <- ""', 'stray {"id":"zzz","type":"t","from":"d","ok":true,"payload":{}}', 'stray not json'])
  assert.is(dispatcher.size, 0)
  dispatcher.expect(waiter('b', 'x2'), { ordered: false, timeoutMs: 0 })
  dispatcher.failAll(new Error('closed'))
  assert.is(got.at(-1), 'b rejected')
})

test('emitter: key listeners then "*"; a throwing listener does not stop the others', async () => {
  const emitter = createEmitter<[number]>()
  const calls: string[] = []
  emitter.on('a', (n) => void calls.push(`a${n}`))
  emitter.on('a', () => {
    throw new Error('listener bug')
  })
  const off = emitter.on('*', (n) => void calls.push(`*${n}`))
  const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve))
  assert.is(emitter.emit('a', 1), true)
  assert.equal(calls, ['a1', '*1'])
  assert.is(((await uncaught) as Error).message, 'listener bug', 'the error still surfaces')
  off()
  assert.is(emitter.emit('b', 2), false)
})

test.run()
