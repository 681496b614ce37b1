// Per-IP rules and caps behind a reverse proxy (contract §11), over real sockets: the test client plays
// the proxy (127.0.0.1) and writes X-Forwarded-For as nginx's proxy_add_x_forwarded_for would.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer, type TestServer } from '../support/server.ts'
import { tryConnect } from '../hardening/support.ts'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'

const pingRule = {
  ping_ip: {
    subject: 'ip',
    types: ['server:ping'],
    capacity: 2,
    refillPerSecond: 0.001,
  },
}
const behindProxy = (extra: DeepPartial<Config> = {}): DeepPartial<Config> => ({
  ...extra,
  server: { trustProxy: ['127.0.0.1/32', '::1/128'], ...extra.server },
  ratelimit: { enabled: true, rules: pingRule as never, ...extra.ratelimit },
})

/** A fresh server for `body`, closed even when an assertion fails (an open server would hang the run). */
async function withServer(overrides: DeepPartial<Config>, body: (t: TestServer) => Promise<void>): Promise<void> {
  const t = await startTestServer(overrides)
  try {
    await body(t)
  } finally {
    await t.close()
  }
}

/** Opens a connection as the proxy would for a client at `xff`, sends one server:ping, answers its errID or "ok". */
async function pingAs(t: TestServer, xff?: string): Promise<string> {
  const c = await t.connect(xff === undefined ? {} : { headers: { 'X-Forwarded-For': xff } })
  const reply = await c.request('server:ping')
  c.close()
  return reply.ok ? 'ok' : reply.payload.errID
}

test('issue 12: 7 registrations through the proxy with 7 different X-Forwarded-For all succeed', async () => {
  await withServer({ server: { trustProxy: ['127.0.0.1/32'] }, ratelimit: { enabled: true } }, async (t) => {
    const answers: string[] = []
    for (let i = 1; i <= 7; i++) {
      const c = await t.connect({
        headers: { 'X-Forwarded-For': `203.0.113.${i}` },
      })
      const reply = await c.request('profile:register', {
        username: `user${i}`,
        password: 'correct-horse-battery',
      })
      answers.push(reply.ok ? 'ok' : reply.payload.errID)
      c.close()
    }
    assert.equal(answers, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'])
  })
})

test('a spoofed X-Forwarded-For from an untrusted peer changes nothing (register_ip still counts the peer)', async () => {
  for (const trustProxy of [[], ['10.0.0.0/8']]) {
    await withServer({ server: { trustProxy }, ratelimit: { enabled: true } }, async (t) => {
      const answers: string[] = []
      for (let i = 1; i <= 7; i++) {
        const c = await t.connect({
          headers: { 'X-Forwarded-For': `203.0.113.${i}` },
        })
        const reply = await c.request('profile:register', {
          username: `user${i}`,
          password: 'correct-horse-battery',
        })
        answers.push(reply.ok ? 'ok' : reply.payload.errID)
        c.close()
      }
      assert.equal(answers, ['ok', 'ok', 'ok', 'ok', 'ok', 'captcha_required', 'captcha_required'], `trustProxy ${JSON.stringify(trustProxy)}`)
    })
  }
})

test('only the right-most untrusted hop counts: addresses the client wrote on the left do not', async () => {
  await withServer(behindProxy(), async (t) => {
    assert.is(await pingAs(t, '198.51.100.1, 203.0.113.5'), 'ok')
    assert.is(await pingAs(t, '198.51.100.2, 203.0.113.5'), 'ok')
    assert.is(await pingAs(t, '198.51.100.3, 203.0.113.5'), 'ratelimit_exceed', 'the same client behind three forged prefixes')
    assert.is(await pingAs(t, '203.0.113.6'), 'ok', 'another client has its own bucket')
    assert.is(await pingAs(t, '203.0.113.6, 127.0.0.1'), 'ok', 'a trusted hop on the right is skipped')
    assert.is(await pingAs(t, '203.0.113.6'), 'ratelimit_exceed')
    assert.is(await pingAs(t), 'ok', 'the proxy itself (no header) is a client of its own')
  })
})

test('IPv6 clients share one bucket per /64, and ratelimit.ipv6Prefix sets the width', async () => {
  await withServer(behindProxy(), async (t) => {
    assert.is(await pingAs(t, '2001:db8:1:2::a'), 'ok')
    assert.is(await pingAs(t, '2001:db8:1:2:ffff::b'), 'ok')
    assert.is(await pingAs(t, '2001:db8:1:2::c'), 'ratelimit_exceed', 'a third address in the same /64')
    assert.is(await pingAs(t, '2001:db8:1:3::a'), 'ok', 'the next /64 is another client')
  })
  await withServer(behindProxy({ ratelimit: { ipv6Prefix: 128 } }), async (wide) => {
    for (const suffix of ['a', 'b', 'c']) assert.is(await pingAs(wide, `2001:db8:1:2::${suffix}`), 'ok', `/128: ::${suffix} alone`)
  })
})

test('connection caps count the client address, not the proxy', async () => {
  await withServer(behindProxy({ limits: { maxAnonymousPerIP: 2 } }), async (t) => {
    const headers = (xff: string) => ({
      headers: { 'X-Forwarded-For': xff },
    })
    const held = []
    try {
      for (const xff of ['203.0.113.9', '2001:db8::1', '203.0.113.9', '2001:db8::2']) held.push(await tryConnect(t.url, headers(xff)))
      assert.equal(
        held.map((r) => r.status),
        [101, 101, 101, 101],
      )
      assert.is((await tryConnect(t.url, headers('203.0.113.9'))).status, 429, 'a third anonymous socket for that client')
      assert.is((await tryConnect(t.url, headers('2001:db8::3'))).status, 429, 'the same /64')
      held.push(await tryConnect(t.url, headers('203.0.113.10')))
      assert.is(held.at(-1)!.status, 101, 'another client behind the same proxy is not affected')
    } finally {
      for (const r of held) r.ws?.terminate()
    }
  })
})

test.run()
