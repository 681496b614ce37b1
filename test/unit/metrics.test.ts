// The request counters and the latency histogram are tallied by hand (cheaper per request than
// prom-client's labelled inc/observe): the scrape must read exactly as prom-client's own metrics would.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Counter, Histogram, Registry } from 'prom-client'
import { createMetrics } from '../../src/metrics.ts'

/** The lines of one metric family in an exposition text. */
const family = (text: string, name: string) => text.split('\n').filter((line) => line.startsWith(name)).join('\n')

test('hafnium_messages_total and hafnium_handler_duration_seconds read as prom-client writes them', async () => {
  const metrics = createMetrics()
  metrics.allowTypes(['server:ping', 'profile:get'])
  const reference = new Registry()
  const messages = new Counter({ name: 'hafnium_messages_total', help: 'x', labelNames: ['type', 'outcome'], registers: [reference] })
  const latency = new Histogram({
    name: 'hafnium_handler_duration_seconds',
    help: 'x',
    labelNames: ['type'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [reference],
  })
  // On a bound, between bounds, above the last one; an unknown type and outcome fold into unknown/other.
  const handled: [string, string, number][] = [
    ['server:ping', 'ok', 0.1], ['server:ping', 'ok', 0.05], ['server:ping', 'ok', 0.7], ['server:ping', 'ok', 7000],
    ['profile:get', 'not_found', 2], ['profile:get', 'ok', 1000], ['no:such', 'ok', 3], ['profile:get', 'no_such_errid', 0.2],
  ]
  for (const [type, outcome, ms] of handled) {
    metrics.handled(type, outcome, ms)
    const t = type === 'no:such' ? 'unknown' : type
    messages.inc({ type: t, outcome: outcome === 'no_such_errid' ? 'other' : outcome })
    latency.observe({ type: t }, ms / 1000)
  }
  metrics.message('no:such', 'unhandled')
  messages.inc({ type: 'unknown', outcome: 'unhandled' })
  const ours = await metrics.registry.metrics()
  const theirs = await reference.metrics()
  for (const name of ['hafnium_messages_total', 'hafnium_handler_duration_seconds']) {
    const expected = family(theirs, name).split('\n').sort()
    assert.equal(family(ours, name).split('\n').sort(), expected, name)
    assert.ok(expected.length > 5, name)
  }
  // A second scrape reads the same (the counter is rebuilt from the tallies, not added to).
  assert.is(await metrics.registry.metrics(), ours)
})

test.run()
