// notify() over a fake event bus: each named user once, counts from buses that answer at once or later, failures.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { notifier, type EventBus } from '../../src/extensions/notify.ts'

function fakeBus(answer: (userID: string) => number | Promise<number>) {
  const published: { userID: string; payloadJson: string | undefined }[] = []
  const bus: EventBus = {
    publish(userID, _type, _payload, payloadJson) {
      published.push({ userID, payloadJson })
      return answer(userID)
    },
  }
  return { bus, published }
}

test('a list publishes each user once, in order, with the payload serialised once for all', async () => {
  const { bus, published } = fakeBus((userID) => (userID === '@b@x' ? Promise.resolve(2) : 1))
  const reached = await notifier(bus)(['@a@x', '@b@x', '@a@x', '@c@x'], 'chat:message', { n: 1 })
  assert.equal(published.map((p) => p.userID), ['@a@x', '@b@x', '@c@x'])
  assert.ok(published.every((p) => p.payloadJson === '{"n":1}'))
  assert.is(reached, 4, 'counts answered at once and later are summed')
})

test('a list past 16 users is deduplicated too', async () => {
  const { bus, published } = fakeBus(() => 1)
  const users = Array.from({ length: 20 }, (_, i) => `@u${i % 10}@x`)
  assert.is(await notifier(bus)(users, 'chat:message', {}), 10)
  assert.equal(published.map((p) => p.userID), users.slice(0, 10))
})

test('a user whose publish throws does not keep the event from the others; notify rejects with that error', async () => {
  const later = Promise.reject(new Error('later failure'))
  const { bus, published } = fakeBus((userID) => {
    if (userID === '@a@x') throw new Error('bus down for a')
    return userID === '@b@x' ? later : 1
  })
  let caught: unknown
  await notifier(bus)(['@a@x', '@b@x', '@c@x'], 'chat:message', {}).catch((error) => (caught = error))
  assert.equal(published.map((p) => p.userID), ['@a@x', '@b@x', '@c@x'])
  assert.ok(caught instanceof Error && caught.message === 'bus down for a', `rejected with ${String(caught)}`)
})

test.run()
