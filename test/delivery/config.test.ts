// delivery config: the transport decides which keys are allowed, and a mistake names its key.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig } from '../../src/config.ts'

const smtp = { transport: 'smtp', host: 'smtp.example.org', port: 587, secure: false, from: 'Hafnium <noreply@example.org>' }

test('the defaults keep the contract keys: console transports, no outboxFile', () => {
  const { delivery } = loadConfig()
  assert.equal({ email: delivery.email, sms: delivery.sms, outboxFile: delivery.outboxFile }, { email: { transport: 'console' }, sms: { transport: 'console' }, outboxFile: null })
})

test('smtp and webhook transports are accepted with their keys', () => {
  const config = loadConfig({
    overrides: {
      delivery: {
        email: { ...smtp, requireTLS: true, auth: { user: 'hafnium', pass: 'secret' } },
        sms: { transport: 'webhook', url: 'https://sms.example.org/send', headers: { Authorization: 'Bearer x' } },
      },
    } as never,
  })
  assert.is(config.delivery.email.transport, 'smtp')
  assert.is(config.delivery.sms.transport, 'webhook')
})

test('a mistake stops loading with a message naming the key', () => {
  const cases: [unknown, RegExp][] = [
    [{ email: { transport: 'sendmail' } }, /^config: delivery\.email\.transport: "sendmail" is not one of "console", /],
    [{ email: { transport: 'smtp', host: 'h' } }, /^config: delivery\.email\.port: must have required property 'port'$/],
    [{ email: { ...smtp, hots: 'x' } }, /^config: delivery\.email\.hots: must NOT have additional properties$/],
    [{ email: { transport: 'console', host: 'x' } }, /^config: delivery\.email\.host: must NOT have additional properties$/],
    [{ sms: { transport: 'smtp' } }, /^config: delivery\.sms\.transport: "smtp" is not one of /],
    [{ sms: { transport: 'webhook', url: 'ftp://x' } }, /^config: delivery\.sms\.url: must match pattern/],
    [{ templates: { sms: { text: 'no placeholder' } } }, /^config: delivery\.templates\.sms\.text: must match pattern/],
    [{ retry: { maxAttempts: 0 } }, /^config: delivery\.retry\.maxAttempts: must be >= 1$/],
  ]
  for (const [delivery, message] of cases) {
    assert.throws(() => loadConfig({ overrides: { delivery } as never }), message, JSON.stringify(delivery))
  }
})

test.run()
