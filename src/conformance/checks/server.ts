// server:ping and server:info, the first things a client asks.
import { expect, expectEqual, expectOk, show } from '../expect.ts'
import { requiredTypes, type Suite } from '../suite.ts'

export async function serverGroup(s: Suite): Promise<void> {
  const { h } = s
  const client = await h.connect()

  await h.check('server.ping', async () => {
    const reply = await h.call(client, 'server:ping')
    expectEqual(expectOk(reply, 'server:ping'), {}, 'payload')
    expectEqual(reply.from, h.domain, 'reply from')
    expect(reply.to === undefined, `an anonymous reply has no "to", got ${show(reply.to)}`)
  })

  await h.check('server.info', async () => {
    const info = expectOk(await h.call(client, 'server:info'), 'server:info') as unknown as NonNullable<Suite['info']>
    expect(Array.isArray(info.domains) && info.domains.length > 0, `domains must be a non-empty array, got ${show(info.domains)}`)
    expect(info.domains.includes(h.domain), `domains ${show(info.domains)} do not include ${h.domain}, which the server answers to`)
    expect(typeof info.version === 'string' && info.version !== '', `version must be a non-empty string, got ${show(info.version)}`)
    expect(Array.isArray(info.types) && info.types.every((t) => typeof t === 'string'), `types must be an array of strings, got ${show(info.types)}`)
    const missing = requiredTypes.filter((t) => !info.types.includes(t))
    expect(missing.length === 0, `types lacks ${missing.join(', ')}`)
    expect(typeof info.limits === 'object' && info.limits !== null, `limits must be an object, got ${show(info.limits)}`)
    expect(typeof info.limits.maxMessageBytes === 'number', `limits.maxMessageBytes must be a number, got ${show(info.limits.maxMessageBytes)}`)
    expect(['open', 'verified', 'closed'].includes(info.registration), `registration must be open, verified or closed, got ${show(info.registration)}`)
    s.info = info
  })

  // Application types (contract §16) are the server's own business: listed, not tested.
  const application = (s.info?.types ?? []).filter((t) => typeof t === 'string' && !contractNamespaces.includes(t.slice(0, t.indexOf(':'))))
  if (application.length > 0) h.skip('server.application_types', `application message types are not part of the contract: ${application.join(', ')}`)
}

/** The namespaces whose types the contract defines; anything else in server:info types is an application type. */
const contractNamespaces = ['server', 'profile', 'device', 'verification', 'provider']
