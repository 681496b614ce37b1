// The cross-node event scenario of `npm run bench -- --postgres`: how long an event takes from node A to
// a socket of node B.
import { loadavg } from 'node:os'
import { allCpus } from './processes.ts'
import { openConnections, percentile } from './load.ts'
import type { Fixture } from './fixture.ts'
import type { Node } from './postgres-cluster.ts'

type Row = Record<string, number | string>
const log = (line: string) => process.stderr.write(line + '\n')
const round2 = (n: number) => Math.round(n * 100) / 100

/**
 * Cross-node event latency: a device signed in on a socket of node A and on a socket of node B; through
 * A, `device:revoke` of that device; timed from the request's send to `profile:session_revoked` arriving
 * on B's socket (A's commit, its NOTIFY, B's LISTEN connection, B's send). 4 lanes, each one event at a
 * time, each revoking a device of its own (the two-node logins' devices, topped up with more logins).
 * An event not seen within 5 s counts as an error.
 */
export async function crossNodeEvents(a: Node, b: Node, fixture: Fixture, tokens: { authToken: string; deviceID: string }[], count: number, pin: (cpu: string) => void, serverCpu: string): Promise<Row> {
  const LANES = 4
  if (tokens.length < count) {
    log(`postgres: ${count - tokens.length} more logins for the event scenario (unpinned)`)
    pin(allCpus)
    const conns = await openConnections(a.url, 16)
    await Promise.all(
      conns.map(async (c, i) => {
        while (tokens.length < count) {
          const reply = await c.send('profile:login', { username: fixture.username(i * 97), password: fixture.password })
          if (!reply.ok) throw new Error(`login for the event scenario: ${JSON.stringify(reply.payload)}`)
          tokens.push(reply.payload)
        }
      }),
    )
    conns.forEach((c) => c.ws.terminate())
  }
  pin(serverCpu)
  log(`postgres: ${count} revocations through node a, timed to profile:session_revoked on node b`)
  const onA = await openConnections(a.url, LANES)
  const onB = await openConnections(b.url, LANES)
  const latencies: number[] = []
  let errors = 0
  let taken = 0
  const begun = performance.now()
  await Promise.all(
    onA.map(async (x, lane) => {
      const y = onB[lane]!
      while (taken < count) {
        const { authToken, deviceID } = tokens[taken++]!
        const [ax, by] = await Promise.all([x.send('profile:auth', { authToken }), y.send('profile:auth', { authToken })])
        if (!ax.ok || !by.ok) {
          errors++
          continue
        }
        const latency = await new Promise<number | undefined>((done) => {
          const t0 = performance.now()
          const timer = setTimeout(() => done(undefined), 5000)
          y.onEvent = (text) => {
            if (text.includes('"profile:session_revoked"') && text.includes(deviceID)) {
              clearTimeout(timer)
              done(performance.now() - t0)
            }
          }
          x.fire('device:revoke', JSON.stringify({ deviceID }), (ok) => ok || errors++)
        })
        y.onEvent = undefined
        if (latency === undefined) errors++
        else latencies.push(latency)
      }
    }),
  )
  const seconds = (performance.now() - begun) / 1000
  ;[...onA, ...onB].forEach((c) => c.ws.terminate())
  const sorted = Float64Array.from(latencies).sort()
  return {
    perSecond: Math.round(latencies.length / seconds),
    events: latencies.length,
    lanes: LANES,
    loop: 'closed',
    p50: round2(percentile(sorted, 50)),
    p99: round2(percentile(sorted, 99)),
    max: round2(sorted[sorted.length - 1] ?? NaN),
    errors,
    load: Math.round(loadavg()[0]! * 100) / 100,
  }
}
