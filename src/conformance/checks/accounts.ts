// Registration, name checks, login, auth and logout with a throwaway account (few registrations: rate limits).
import { randomBytes } from 'node:crypto'
import { expect, expectEqual, expectError, expectMatch, expectOk, patterns } from '../expect.ts'
import { randomDigits, randomName } from '../harness.ts'
import type { Suite } from '../suite.ts'

export async function accountsGroup(s: Suite): Promise<void> {
  const { h } = s
  const registration = s.info?.registration
  if (registration !== 'open') {
    const reason = registration === undefined ? 'needs server.info' : `registration is "${registration}" on this server`
    for (const name of ['register.ok', 'register.id_exists', 'register.weak_password']) h.skip(name, reason)
    return
  }
  const domain = s.info?.domains[0] ?? h.domain
  const name = `cf-${randomName(10)}`
  const typed = `CF-${name.slice(3, 6).toUpperCase()}${name.slice(6)}`
  const password = `Cf-${randomBytes(12).toString('hex')}`
  const email = `${name}@conformance.example`
  const msisdn = `+1555${randomDigits(7)}`
  const main = await h.connect()
  const anon = await h.connect()

  await h.check('register.ok', async () => {
    const reply = await h.call(main, 'profile:register', {
      username: typed,
      password,
      thirdPIDs: [
        { type: 'email', value: email },
        { type: 'msisdn', value: msisdn },
      ],
      loginOnSuccess: true,
      deviceName: 'conformance A1',
    })
    const payload = expectOk(reply, 'profile:register')
    const userID = `@${name}@${domain}`
    expectEqual(payload.userID, userID, 'userID (the username case-folded)')
    expectEqual(payload.confirmationRequired, false, 'confirmationRequired')
    const login = (payload.loginPayload ?? {}) as Record<string, unknown>
    expectMatch(login.authToken, patterns.authToken, 'loginPayload.authToken')
    expectMatch(login.deviceID, patterns.deviceID, 'loginPayload.deviceID')
    expectEqual(login.userID, userID, 'loginPayload.userID')
    expectEqual(reply.to, userID, 'reply "to" once logged in')
    s.account = { typed, username: name, userID, password, email, msisdn, main, mainDevice: login.deviceID as string, mainToken: login.authToken as string }
  })

  await h.check('register.id_exists', async () => {
    expectError(await h.call(anon, 'profile:register', { username: name.toUpperCase(), password: `${password}-2` }), 'id_exists')
  }, { needs: ['register.ok'] })

  await h.check('register.weak_password', async () => {
    expectError(await h.call(anon, 'profile:register', { username: `cf-${randomName(10)}`, password: 'password' }), 'weak_password')
  })

  await h.check('check_username.taken', async () => {
    expectEqual(expectOk(await h.call(anon, 'profile:check_username', { username: typed.toUpperCase() }), 'profile:check_username'), { available: false }, 'payload')
  }, { needs: ['register.ok'] })

  await h.check('check_username.free', async () => {
    const reply = await h.call(anon, 'profile:check_username', { username: `cf-${randomName(12)}` })
    expectEqual(expectOk(reply, 'profile:check_username'), { available: true }, 'payload')
  })

  await h.check('check_account', async () => {
    const unknown = expectOk(await h.call(anon, 'profile:check_account', { loginID: `cf-${randomName(12)}` }), 'profile:check_account')
    expectEqual(unknown.exists, false, 'exists (unknown name)')
    const known = expectOk(await h.call(anon, 'profile:check_account', { loginID: typed }), 'profile:check_account')
    if (known.exists === false) return { skip: 'the server does not reveal whether accounts exist (a privacy setting)' }
    expectEqual(known, { exists: true, accountType: 'username', hasPassword: true }, 'payload (known name)')
  }, { needs: ['register.ok'] })

  await h.check('login.ok', async () => {
    const client = await h.connect()
    const reply = await h.call(client, 'profile:login', { username: typed.toUpperCase(), password, deviceName: 'conformance A2' })
    const payload = expectOk(reply, 'profile:login')
    expectMatch(payload.authToken, patterns.authToken, 'authToken')
    expectMatch(payload.deviceID, patterns.deviceID, 'deviceID')
    expectEqual(payload.userID, s.account!.userID, 'userID')
    expectEqual(reply.to, s.account!.userID, 'reply "to"')
    expect(payload.deviceID !== s.account!.mainDevice, 'each login creates a new device')
    s.devices.a2 = { client, deviceID: payload.deviceID as string, authToken: payload.authToken as string }
  }, { needs: ['register.ok'] })

  await h.check('login.invalid_creds', async () => {
    const wrong = expectError(await h.call(anon, 'profile:login', { username: name, password: `${password}-wrong` }), 'invalid_creds')
    const unknown = expectError(await h.call(anon, 'profile:login', { username: `cf-${randomName(12)}`, password }), 'invalid_creds')
    expectEqual(unknown, wrong, 'an unknown user and a wrong password must get the same reply')
  }, { needs: ['register.ok'] })

  await h.check('auth.ok', async () => {
    const a2 = s.devices.a2!
    const client = await h.connect()
    const reply = await h.call(client, 'profile:auth', { authToken: a2.authToken })
    expectEqual(expectOk(reply, 'profile:auth'), { userID: s.account!.userID, deviceID: a2.deviceID }, 'payload')
    expectEqual(reply.to, s.account!.userID, 'reply "to"')
    s.devices.a2b = client
  }, { needs: ['login.ok'] })

  await h.check('auth.invalid_token', async () => {
    expectError(await h.call(anon, 'profile:auth', { authToken: randomBytes(32).toString('hex') }), 'invalid_token')
  })
}
