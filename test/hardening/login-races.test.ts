// Issue 11 item 1: a login already past its account read (argon2 running) when the password is changed or
// reset, or the account deactivated or disabled, must not finish. Each race is run in its bad
// interleaving (the login held at argon2 while the change commits) 50 times.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { disableAccount } from '../../src/accounts/credentials.ts'
import { errors } from '../../src/errors.ts'
import { auth, login, register, requestOk, sudo, verifyThirdPIDs } from '../support/accounts.ts'
import type { TestClient } from '../support/client.ts'
import { obtainToken, startCodeServer, type CodeServer } from '../support/codes.ts'
import { holdVerify } from '../support/gate.ts'

const rounds = 50
const invalidCreds = { errID: 'invalid_creds', errText: errors.invalid_creds }

const test = suite<{ t: CodeServer }>('hardening: logins in flight across a credential change')
test.before(async (ctx) => {
  ctx.t = await startCodeServer()
})
test.after(async (ctx) => ctx.t.close())

/**
 * Sends profile:login with `password` from a fresh socket and holds it at argon2 (the account already
 * read); resolves with the socket, the pending reply and the gate once it is held.
 */
async function heldLogin(t: CodeServer, payload: { username: string; password: string }) {
  const gate = holdVerify(t, payload.password)
  const client = await t.connect()
  const reply = client.request('profile:login', payload)
  await gate.entered
  return { client, reply, gate }
}

/** After a refused in-flight login: the socket is anonymous and the account holds only `expected` devices. */
async function assertNoDeviceLeft(t: CodeServer, client: TestClient, username: string, expected: number, round: number) {
  assert.is((await client.request('device:list')).payload.errID, 'auth_required', `round ${round}: the login's socket is anonymous`)
  const account = await t.server.store.accounts.byUsername(username)
  assert.is(await t.server.store.devices.count(account!.id), expected, `round ${round}: no device was left behind`)
}

test(`set_password commits while a login with the old password is at argon2: invalid_creds, no device (×${rounds})`, async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'juliet', password: 'balcony-pass-0' })
  const owner = await login(t, { username: 'juliet', password: 'balcony-pass-0' })
  for (let round = 0; round < rounds; round++) {
    const old = `balcony-pass-${round}`
    const next = `balcony-pass-${round + 1}`
    const sudoToken = await sudo(owner.client, old)
    const held = await heldLogin(t, { username: 'juliet', password: old })
    await requestOk(owner.client, 'profile:set_password', { sudoToken, newPassword: next })
    held.gate.remove()
    assert.equal((await held.reply).payload, invalidCreds, `round ${round}`)
    await assertNoDeviceLeft(t, held.client, 'juliet', 1, round)
  }
  assert.equal((await c.request('profile:login', { username: 'juliet', password: 'balcony-pass-0' })).payload, invalidCreds)
})

test(`reset_password commits while a login with the old password is at argon2 (×${rounds})`, async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'romeo', password: 'montague-pass-0', thirdPIDs: [{ type: 'email', value: 'romeo@verona.example' }] })
  await verifyThirdPIDs(t, 'romeo') // reset codes go only to proven addresses
  for (let round = 0; round < rounds; round++) {
    const old = `montague-pass-${round}`
    const token = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: 'romeo@verona.example' }, 'romeo@verona.example')
    const held = await heldLogin(t, { username: 'romeo', password: old })
    await requestOk(c, 'profile:reset_password', { thirdPID: 'romeo@verona.example', verificationToken: token, newPassword: `montague-pass-${round + 1}` })
    held.gate.remove()
    assert.equal((await held.reply).payload, invalidCreds, `round ${round}`)
    await assertNoDeviceLeft(t, held.client, 'romeo', 0, round)
  }
})

test(`deactivate commits while a login is at argon2: no live session on the disabled account (×${rounds})`, async ({ t }) => {
  const c = await t.connect()
  for (let round = 0; round < rounds; round++) {
    const username = `mercutio${round}`
    const password = `queen-mab-${round}-x`
    await register(c, { username, password })
    const owner = await login(t, { username, password })
    const sudoToken = await sudo(owner.client, password)
    const held = await heldLogin(t, { username, password })
    await requestOk(owner.client, 'profile:deactivate', { sudoToken })
    held.gate.remove()
    const reply = await held.reply
    assert.equal(reply.payload, invalidCreds, `round ${round}`)
    await assertNoDeviceLeft(t, held.client, username, 0, round)
    assert.is((await held.client.request('profile:update', { name: 'ghost' })).payload.errID, 'auth_required')
  }
})

test(`the admin CLI's disable (the same domain operation) commits while a login is at argon2 (×${rounds})`, async ({ t }) => {
  const c = await t.connect()
  const { store, clock, sessions, log } = t.server.deps
  for (let round = 0; round < rounds; round++) {
    const username = `tybalt${round}`
    const password = `prince-of-cats-${round}`
    await register(c, { username, password })
    const held = await heldLogin(t, { username, password })
    const account = await store.accounts.byUsername(username)
    await disableAccount({ store, clock, sessions, log }, account!.id)
    held.gate.remove()
    assert.equal((await held.reply).payload, invalidCreds, `round ${round}`)
    await assertNoDeviceLeft(t, held.client, username, 0, round)
    // With the right password the account now answers what it is.
    assert.is((await c.request('profile:login', { username, password })).payload.errID, 'user_disabled')
  }
})

test(`a code login in flight when the password is reset fails too (×${rounds})`, async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'nurse', password: 'wet-hen-pass-0', thirdPIDs: [{ type: 'email', value: 'nurse@verona.example' }] })
  await verifyThirdPIDs(t, 'nurse') // login and reset codes go only to proven addresses
  for (let round = 0; round < rounds; round++) {
    const loginToken = await obtainToken(t, c, { purpose: 'login', thirdPID: 'nurse@verona.example' }, 'nurse@verona.example')
    const resetToken = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: 'nurse@verona.example' }, 'nurse@verona.example')
    // A code login runs no argon2: hold it at the store instead, between its account read and its insert.
    const { devices } = t.server.deps.store
    const create = devices.create
    let resume!: () => void
    const paused = new Promise<void>((resolve) => (resume = resolve))
    let reached!: () => void
    const atInsert = new Promise<void>((resolve) => (reached = resolve))
    devices.create = async (device) => {
      reached()
      await paused
      return create(device)
    }
    try {
      const other = await t.connect()
      const reply = other.request('profile:login', { thirdPID: 'nurse@verona.example', verificationToken: loginToken })
      await atInsert
      await requestOk(c, 'profile:reset_password', { thirdPID: 'nurse@verona.example', verificationToken: resetToken, newPassword: `wet-hen-pass-${round + 1}` })
      resume()
      assert.is((await reply).payload.errID, 'invalid_token', `round ${round}`)
      await assertNoDeviceLeft(t, other, 'nurse', 0, round)
    } finally {
      devices.create = create
      resume()
    }
  }
})

test('a sudoToken issued before a password reset is refused after it (issue 11 item 8)', async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'paris', password: 'wedding-bells-1', thirdPIDs: [{ type: 'email', value: 'paris@verona.example' }] })
  await verifyThirdPIDs(t, 'paris') // reset codes go only to proven addresses
  const before = await login(t, { username: 'paris', password: 'wedding-bells-1' })
  const sudoToken = await sudo(before.client, 'wedding-bells-1')
  const token = await obtainToken(t, c, { purpose: 'reset_password', thirdPID: 'paris@verona.example' }, 'paris@verona.example')
  await requestOk(c, 'profile:reset_password', { thirdPID: 'paris@verona.example', verificationToken: token, newPassword: 'wedding-bells-2' })
  const after = await login(t, { username: 'paris', password: 'wedding-bells-2' })
  assert.is((await after.client.request('profile:deactivate', { sudoToken })).payload.errID, 'sudo_required')
})

test('a login that is not raced still works, and its token authenticates', async ({ t }) => {
  const c = await t.connect()
  await register(c, { username: 'benvolio', password: 'cousin-peace-1' })
  const session = await login(t, { username: 'benvolio', password: 'cousin-peace-1' })
  await auth(t, session.authToken)
})

test.run()
