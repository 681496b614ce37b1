// One-time codes, read back from the server's outbox file: request/verify, passwordless login, password reset.
import { randomBytes } from 'node:crypto'
import { expect, expectEqual, expectError, expectOk, fail, show } from '../expect.ts'
import { randomName } from '../harness.ts'
import { waitForCode } from '../outbox.ts'
import type { Suite } from '../suite.ts'

export const codeChecks = [
  'codes.prove_addresses',
  'codes.request',
  'codes.request.not_found',
  'codes.request.id_exists',
  'codes.invalid_code',
  'codes.verify',
  'codes.passwordless_login',
  'codes.token_single_use',
  'codes.reset_password',
]

export async function codesGroup(s: Suite): Promise<void> {
  const { h } = s
  const outbox = s.outboxFile
  if (!outbox) {
    for (const name of codeChecks) h.skip(name, 'needs --outbox FILE (the server’s delivery.outboxFile)')
    return
  }
  const needs = ['register.ok']
  const anon = await h.connect()
  const codeLength = s.info?.limits.codeLength
  let verificationID: string | undefined
  let code: string | undefined
  let token: string | undefined

  // Login and reset codes go only to addresses their account has proven (pre-account hijacking): the
  // account registered without codes proves its email and phone with a sudo code to each, as a user would.
  await h.check('codes.prove_addresses', async () => {
    for (const [channel, to] of [['email', s.account!.email], ['msisdn', s.account!.msisdn]] as const) {
      const asked = expectOk(await h.call(s.account!.main, 'verification:request', { purpose: 'sudo', channel }), 'verification:request')
      const sudoCode = (await waitForCode(outbox, to, 'sudo')) ?? fail(`no sudo code for ${to} appeared in ${outbox}`)
      expectOk(await h.call(s.account!.main, 'verification:verify', { verificationID: asked.verificationID, code: sudoCode }), 'verification:verify')
    }
  }, { needs })
  const proven = [...needs, 'codes.prove_addresses']

  await h.check('codes.request', async () => {
    const reply = expectOk(await h.call(anon, 'verification:request', { purpose: 'login', thirdPID: s.account!.email }), 'verification:request')
    expect(typeof reply.verificationID === 'string' && reply.verificationID !== '', `verificationID must be a string, got ${show(reply.verificationID)}`)
    for (const key of ['expiresIn', 'resendAfter']) expect(Number.isInteger(reply[key]), `${key} must be an integer, got ${show(reply[key])}`)
    expect(typeof reply.destination === 'string' && reply.destination !== s.account!.email, `destination must be blurred, got ${show(reply.destination)}`)
    verificationID = reply.verificationID as string
    code = (await waitForCode(outbox, s.account!.email, 'login')) ?? fail(`no login code for ${s.account!.email} appeared in ${outbox}`)
    expect(/^\d+$/.test(code) && (codeLength === undefined || code.length === codeLength), `the code must be ${codeLength ?? 'some'} digits, got ${show(code)}`)
  }, { needs: proven })

  await h.check('codes.request.not_found', async () => {
    expectError(await h.call(anon, 'verification:request', { purpose: 'login', thirdPID: `cf-${randomName(10)}@conformance.example` }), 'not_found')
  })

  await h.check('codes.request.id_exists', async () => {
    expectError(await h.call(anon, 'verification:request', { purpose: 'signup', thirdPID: s.account!.email }), 'id_exists')
  }, { needs: proven })

  await h.check('codes.invalid_code', async () => {
    const wrong = String((Number(code) + 1) % 10 ** code!.length).padStart(code!.length, '0')
    const error = expectError(await h.call(anon, 'verification:verify', { verificationID, code: wrong }), 'invalid_code')
    expect(Number.isInteger(error.errPayload?.attemptsLeft), `errPayload.attemptsLeft must be an integer, got ${show(error.errPayload)}`)
  }, { needs: ['codes.request'] })

  await h.check('codes.verify', async () => {
    const reply = expectOk(await h.call(anon, 'verification:verify', { verificationID, code }), 'verification:verify')
    expect(typeof reply.verificationToken === 'string' && reply.verificationToken !== '', `verificationToken must be a string, got ${show(reply.verificationToken)}`)
    expect(Number.isInteger(reply.expiresIn), `expiresIn must be an integer, got ${show(reply.expiresIn)}`)
    token = reply.verificationToken as string
  }, { needs: ['codes.request'] })

  await h.check('codes.passwordless_login', async () => {
    const client = await h.connect()
    const reply = await h.call(client, 'profile:login', { thirdPID: s.account!.email, verificationToken: token, deviceName: 'conformance code login' })
    expectEqual(expectOk(reply, 'profile:login').userID, s.account!.userID, 'userID')
  }, { needs: ['codes.verify'] })

  await h.check('codes.token_single_use', async () => {
    expectError(await h.call(anon, 'profile:login', { thirdPID: s.account!.email, verificationToken: token }), 'invalid_token')
  }, { needs: ['codes.passwordless_login'] })

  // The phone number, not the email: one destination gets one code a minute on a default server.
  await h.check('codes.reset_password', async () => {
    const account = s.account!
    const asked = expectOk(await h.call(anon, 'verification:request', { purpose: 'reset_password', thirdPID: account.msisdn }), 'verification:request')
    const resetCode = (await waitForCode(outbox, account.msisdn, 'reset_password')) ?? fail(`no reset_password code for ${account.msisdn} appeared in ${outbox}`)
    const verified = expectOk(await h.call(anon, 'verification:verify', { verificationID: asked.verificationID, code: resetCode }), 'verification:verify')
    const revoked = h.awaitEvent(account.main, 'profile:session_revoked')
    const newPassword = `Cf-${randomBytes(12).toString('hex')}`
    const reply = await h.call(anon, 'profile:reset_password', { thirdPID: account.msisdn, verificationToken: verified.verificationToken, newPassword })
    expectEqual(expectOk(reply, 'profile:reset_password'), {}, 'payload')
    account.password = newPassword
    const event = (await revoked) ?? fail('no profile:session_revoked event on the account’s live connection')
    expectEqual(event.payload, { deviceID: account.mainDevice, reason: 'password_changed' }, 'session_revoked payload')
    // Back in with the new password, as a new main device, for the groups that follow.
    const login = expectOk(await h.call(account.main, 'profile:login', { username: account.username, password: newPassword, deviceName: 'conformance A1' }), 'profile:login')
    account.mainDevice = login.deviceID as string
    account.mainToken = login.authToken as string
  }, { needs: proven })
}
