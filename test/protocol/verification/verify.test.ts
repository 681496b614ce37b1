// verification:verify over real sockets: the token, attempts (5 then dead), expiry, single use, the race.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { errors } from '../../../src/errors.ts'
import { startCodeServer, type CodeServer } from '../../support/codes.ts'
import { assertValidReply } from '../../support/schemas.ts'
import { manualClock } from '../../support/server.ts'

const err = (errID: keyof typeof errors, errPayload?: object) => ({ errID, errText: errors[errID], ...(errPayload && { errPayload }) })
const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')

const test = suite<{ t: CodeServer; clock: ReturnType<typeof manualClock> }>('verification:verify')

test.before(async (ctx) => {
  ctx.clock = manualClock()
  ctx.t = await startCodeServer({}, { clock: ctx.clock })
})
test.after(async (ctx) => ctx.t.close())

let counter = 0
/** A fresh signup code for a fresh address: its verificationID and code. */
async function freshCode(t: CodeServer) {
  const to = `guest${++counter}@verona.example`
  const reply = await (await t.connect()).request('verification:request', { purpose: 'signup', thirdPID: to })
  assert.ok(reply.ok, JSON.stringify(reply))
  return { to, verificationID: reply.payload.verificationID as string, code: await t.lastCode(to, 'signup') }
}

test('the right code → a verificationToken that lives 600 s', async ({ t }) => {
  const { verificationID, code } = await freshCode(t)
  const reply = await (await t.connect()).request('verification:verify', { verificationID, code })
  assertValidReply('verification:verify', reply)
  assert.match(reply.payload.verificationToken, /^[A-Za-z0-9_-]{43}$/)
  assert.is(reply.payload.expiresIn, 600)
})

test('a code serves once: the same code again → invalid_code, attemptsLeft 0', async ({ t }) => {
  const { verificationID, code } = await freshCode(t)
  const c = await t.connect()
  assert.ok((await c.request('verification:verify', { verificationID, code })).ok)
  assert.equal((await c.request('verification:verify', { verificationID, code })).payload, err('invalid_code', { attemptsLeft: 0 }))
})

test('wrong codes count down 4…0; then the code is dead even for the right digits', async ({ t }) => {
  const { verificationID, code } = await freshCode(t)
  const c = await t.connect()
  for (const attemptsLeft of [4, 3, 2, 1, 0]) {
    assert.equal((await c.request('verification:verify', { verificationID, code: wrongCode(code) })).payload, err('invalid_code', { attemptsLeft }))
  }
  assert.equal((await c.request('verification:verify', { verificationID, code })).payload, err('invalid_code', { attemptsLeft: 0 }))
})

test('attempts are the code’s, not the connection’s: spread over connections they still end at 0', async ({ t }) => {
  const { verificationID, code } = await freshCode(t)
  const seen: number[] = []
  for (let i = 0; i < 6; i++) {
    const reply = await (await t.connect()).request('verification:verify', { verificationID, code: wrongCode(code) })
    seen.push(reply.payload.errPayload.attemptsLeft)
  }
  assert.equal(seen, [4, 3, 2, 1, 0, 0])
})

test('a right code after wrong ones (attempts left) still works', async ({ t }) => {
  const { verificationID, code } = await freshCode(t)
  const c = await t.connect()
  assert.equal((await c.request('verification:verify', { verificationID, code: wrongCode(code) })).payload, err('invalid_code', { attemptsLeft: 4 }))
  assertValidReply('verification:verify', await c.request('verification:verify', { verificationID, code }))
})

test('an unknown verificationID → invalid_code, attemptsLeft 0', async ({ t }) => {
  const reply = await (await t.connect()).request('verification:verify', { verificationID: 'AAAAAAAAAAAAAAAAAAAAAA', code: '123456' })
  assert.equal(reply.payload, err('invalid_code', { attemptsLeft: 0 }))
})

test('expiry: valid until codeTtl (600 s), code_expired from then on, then unknown', async ({ t, clock }) => {
  const early = await freshCode(t)
  const late = await freshCode(t)
  const c = await t.connect()
  clock.advance(599_999)
  assert.ok((await c.request('verification:verify', { verificationID: early.verificationID, code: early.code })).ok)
  clock.advance(1)
  assert.equal((await c.request('verification:verify', { verificationID: late.verificationID, code: late.code })).payload, err('code_expired'))
  assert.equal((await c.request('verification:verify', { verificationID: late.verificationID, code: late.code })).payload, err('invalid_code', { attemptsLeft: 0 }))
})

test('20 connections submit the same right code at once: exactly one gets a token', async ({ t }) => {
  const { verificationID, code } = await freshCode(t)
  const clients = await Promise.all(Array.from({ length: 20 }, () => t.connect()))
  const replies = await Promise.all(clients.map((c) => c.request('verification:verify', { verificationID, code })))
  assert.is(replies.filter((r) => r.ok).length, 1)
  for (const r of replies.filter((r) => !r.ok)) assert.equal(r.payload, err('invalid_code', { attemptsLeft: 0 }))
})

test('the code must be digits', async ({ t }) => {
  const reply = await (await t.connect()).request('verification:verify', { verificationID: 'AAAAAAAAAAAAAAAAAAAAAA', code: '12a456' })
  assert.is(reply.payload.errID, 'invalid_payload')
})

test.run()
