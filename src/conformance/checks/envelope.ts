// The envelope and the global errors (contract §2, §3): malformed frames, unknown types, wrong domains, bad payloads, auth.
import type { HafniumClient, ReplyEnvelope } from '../../client/index.ts'
import { expect, expectEqual, expectError, expectErrorList, expectOk, show } from '../expect.ts'
import { randomName } from '../harness.ts'
import type { Suite } from '../suite.ts'

export async function envelopeGroup(s: Suite): Promise<void> {
  const { h } = s
  const to = h.domain
  const client = await h.connect()
  const raw = (value: unknown) => client.sendRaw(typeof value === 'string' ? value : JSON.stringify(value))

  await h.check('envelope.echo', async () => {
    const reply = await raw({ id: 'conformance-echo-1', type: 'server:ping', to, payload: {} })
    expectOk(reply, 'server:ping')
    expectEqual(reply.id, 'conformance-echo-1', 'reply id')
    expect(typeof reply.from === 'string', `from must be a string, got ${show(reply.from)}`)
  })

  const malformed = async (frame: unknown, id: string) => {
    const error = expectError(await raw(frame), 'malformed_message', { id })
    expectErrorList(error)
  }
  await h.check('envelope.malformed.not_json', () => malformed('{"id": "conformance-nj", this is not JSON', ''))
  await h.check('envelope.malformed.not_object', () => malformed('["server:ping"]', ''))
  await h.check('envelope.malformed.missing_to', () => malformed({ id: 'conformance-mt', type: 'server:ping', payload: {} }, 'conformance-mt'))
  await h.check('envelope.malformed.extra_field', () =>
    malformed({ id: 'conformance-xf', type: 'server:ping', to, payload: {}, priority: 1 }, 'conformance-xf'),
  )
  await h.check('envelope.malformed.id_not_string', () => malformed({ id: 7, type: 'server:ping', to, payload: {} }, ''))
  await h.check('envelope.malformed.payload_not_object', () =>
    malformed({ id: 'conformance-pa', type: 'server:ping', to, payload: ['x'] }, 'conformance-pa'),
  )

  await h.check('envelope.from_ignored', async () => {
    expectOk(await raw({ id: 'conformance-from', type: 'server:ping', to, from: '@someone@elsewhere.example', payload: {} }), 'server:ping')
  })

  await h.check('envelope.unhandled', async () => {
    const type = `conformance:no_such_type_${randomName(6)}`
    expectError(await raw({ id: 'conformance-uh', type, to, payload: {} }), 'unhandled', { id: 'conformance-uh', type })
  })

  await h.check('envelope.wrong_server', async () => {
    expectError(await raw({ id: 'conformance-ws', type: 'server:ping', to: `${randomName(8)}.invalid`, payload: {} }), 'wrong_server', {
      id: 'conformance-ws',
      type: 'server:ping',
    })
  })

  await h.check('envelope.invalid_payload', async () => {
    const error = expectError(await h.call(client, 'server:ping', { unexpected: true }), 'invalid_payload', { type: 'server:ping' })
    expectErrorList(error)
  })

  await h.check('envelope.invalid_payload.path', async () => {
    const error = expectError(await h.call(client, 'profile:check_username', { username: 'not a username!' }), 'invalid_payload')
    const [first] = expectErrorList(error)
    expect(first!.path.endsWith('/username'), `the error path should point at the username, got ${show(first!.path)}`)
  })

  await h.check('envelope.auth_required', async () => {
    expectError(await h.call(client, 'device:list'), 'auth_required', { type: 'device:list' })
    expectError(await h.call(client, 'profile:logout'), 'auth_required', { type: 'profile:logout' })
  })

  await h.check('envelope.ordering', () => inOrder(client, to))
}

/** Twenty pipelined requests are answered in the order sent (contract §2). */
async function inOrder(client: HafniumClient, to: string): Promise<void> {
  const arrived: string[] = []
  const sent: Promise<ReplyEnvelope>[] = []
  for (let i = 0; i < 20; i++) {
    const id = `conformance-order-${i}`
    const type = i % 2 === 0 ? 'server:ping' : 'server:info'
    sent.push(client.sendRaw(JSON.stringify({ id, type, to, payload: {} })).then((reply) => (arrived.push(reply.id), reply)))
  }
  const replies = await Promise.all(sent)
  replies.forEach((reply, i) => expectOk(reply, i % 2 === 0 ? 'server:ping' : 'server:info'))
  expectEqual(arrived, replies.map((_, i) => `conformance-order-${i}`), 'reply order')
}
