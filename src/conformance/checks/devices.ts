// Devices and sudo: new_login events, listing, renaming, and revoking another device with a sudoToken.
import { randomBytes } from 'node:crypto'
import type { Messages } from '../../client/index.ts'
import { expect, expectEqual, expectError, expectMatch, expectOk, fail, patterns, show } from '../expect.ts'
import { randomName } from '../harness.ts'
import type { Device, Suite } from '../suite.ts'

type DeviceInfo = Messages['device:list']['reply']['devices'][number]

export async function devicesGroup(s: Suite): Promise<void> {
  const { h } = s
  const needs = ['register.ok']
  let a4: Device | undefined
  let a5: Device | undefined
  let sudoToken: string | undefined
  const unknownDevice = randomName(10).toUpperCase()

  await h.check('device.new_login', async () => {
    const { main, username, password } = s.account!
    const event = h.awaitEvent(main, 'device:new_login')
    const client = await h.connect()
    const login = expectOk(await h.call(client, 'profile:login', { username, password, deviceName: 'conformance A4' }), 'profile:login')
    a4 = { client, deviceID: login.deviceID as string, authToken: login.authToken as string }
    const payload = ((await event) ?? fail('no device:new_login event on the account’s other connection')).payload
    expectEqual({ deviceID: payload.deviceID, deviceName: payload.deviceName }, { deviceID: a4.deviceID, deviceName: 'conformance A4' }, 'new_login payload')
    expect(Number.isInteger(payload.at) && (payload.at as number) > 0, `new_login "at" must be a timestamp in ms, got ${show(payload.at)}`)
  }, { needs })

  await h.check('device.list', async () => {
    const { main, mainDevice } = s.account!
    const { devices } = expectOk(await h.call(main, 'device:list'), 'device:list') as { devices: DeviceInfo[] }
    expect(Array.isArray(devices), `devices must be an array, got ${show(devices)}`)
    for (const d of devices) {
      expectMatch(d.deviceID, patterns.deviceID, 'deviceID')
      expect(typeof d.name === 'string' && Number.isInteger(d.createdAt) && Number.isInteger(d.lastSeenAt), `a device entry is malformed: ${show(d)}`)
      expect(typeof d.current === 'boolean' && typeof d.online === 'boolean', `current/online must be booleans: ${show(d)}`)
      // Contract §18: ms, or null when no lifetime applies.
      expect(d.expiresAt === null || (Number.isInteger(d.expiresAt) && d.expiresAt >= d.lastSeenAt), `expiresAt must be null or a timestamp in ms not before lastSeenAt: ${show(d)}`)
    }
    const current = devices.filter((d) => d.current)
    expectEqual(current.map((d) => d.deviceID), [mainDevice], 'the current device')
    expectEqual(current[0]!.name, 'conformance A1', 'the current device name')
    const a2 = s.devices.a2
    if (a2) {
      const entry = devices.find((d) => d.deviceID === a2.deviceID) ?? fail(`device ${a2.deviceID} (logged in by login.ok) is not listed`)
      expectEqual(entry.online, true, `device ${a2.deviceID} "online" while its connection is open`)
    }
  }, { needs })

  await h.check('device.rename', async () => {
    const { main } = s.account!
    expectEqual(expectOk(await h.call(main, 'device:rename', { deviceID: a4!.deviceID, name: 'conformance renamed' }), 'device:rename'), {}, 'payload')
    const { devices } = expectOk(await h.call(main, 'device:list'), 'device:list') as { devices: DeviceInfo[] }
    expectEqual(devices.find((d) => d.deviceID === a4!.deviceID)?.name, 'conformance renamed', 'the new name in device:list')
  }, { needs: ['device.new_login'] })

  await h.check('device.rename.not_found', async () => {
    expectError(await h.call(s.account!.main, 'device:rename', { deviceID: unknownDevice, name: 'nobody' }), 'not_found')
  }, { needs })

  await h.check('device.revoke.sudo_required', async () => {
    expectError(await h.call(s.account!.main, 'device:revoke', { deviceID: a4!.deviceID }), 'sudo_required')
  }, { needs: ['device.new_login'] })

  await h.check('device.revoke.not_found', async () => {
    expectError(await h.call(s.account!.main, 'device:revoke', { deviceID: unknownDevice }), 'not_found')
  }, { needs })

  await h.check('sudo.invalid_creds', async () => {
    expectError(await h.call(s.account!.main, 'profile:sudo', { password: `${s.account!.password}-wrong` }), 'invalid_creds')
  }, { needs })

  await h.check('sudo.ok', async () => {
    const payload = expectOk(await h.call(s.account!.main, 'profile:sudo', { password: s.account!.password }), 'profile:sudo')
    expect(typeof payload.sudoToken === 'string' && payload.sudoToken.length >= 16, `sudoToken must be a token string, got ${show(payload.sudoToken)}`)
    expect(Number.isInteger(payload.expiresIn) && (payload.expiresIn as number) > 0, `expiresIn must be a positive integer, got ${show(payload.expiresIn)}`)
    sudoToken = payload.sudoToken as string
  }, { needs })

  await h.check('device.revoke', async () => {
    const { main, userID } = s.account!
    const revoked = h.awaitEvent(a4!.client, 'profile:session_revoked')
    const reply = await h.call(main, 'device:revoke', { deviceID: a4!.deviceID, sudoToken })
    expectEqual(expectOk(reply, 'device:revoke'), {}, 'payload')
    expectEqual(reply.to, userID, 'the revoking connection stays authenticated ("to")')
    const event = (await revoked) ?? fail('no profile:session_revoked event on the revoked device’s connection')
    expectEqual(event.payload, { deviceID: a4!.deviceID, reason: 'revoked' }, 'session_revoked payload')
    expectError(await h.call(a4!.client, 'device:list'), 'auth_required')
    expectError(await h.call(a4!.client, 'profile:auth', { authToken: a4!.authToken }), 'invalid_token')
  }, { needs: ['device.new_login', 'sudo.ok'] })

  await h.check('set_password.sudo_required', async () => {
    expectError(await h.call(s.account!.main, 'profile:set_password', { newPassword: `Cf-${randomBytes(12).toString('hex')}` }), 'sudo_required')
  }, { needs })

  await h.check('set_password.ok', async () => {
    const account = s.account!
    const sudo = expectOk(await h.call(account.main, 'profile:sudo', { password: account.password }), 'profile:sudo')
    const others = [s.devices.a2?.client, s.devices.a2b].filter((c) => c !== undefined)
    const events = others.map((client) => h.awaitEvent(client, 'profile:session_revoked'))
    const newPassword = `Cf-${randomBytes(12).toString('hex')}`
    expectEqual(expectOk(await h.call(account.main, 'profile:set_password', { newPassword, sudoToken: sudo.sudoToken }), 'profile:set_password'), {}, 'payload')
    const oldPassword = account.password
    account.password = newPassword
    for (const event of await Promise.all(events)) {
      expectEqual(event?.payload, { deviceID: s.devices.a2!.deviceID, reason: 'password_changed' }, 'session_revoked on the other device')
    }
    expectOk(await h.call(account.main, 'device:list'), 'device:list')
    const client = await h.connect()
    expectError(await h.call(client, 'profile:login', { username: account.username, password: oldPassword }), 'invalid_creds')
    const login = expectOk(await h.call(client, 'profile:login', { username: account.username, password: newPassword }), 'profile:login')
    a5 = { client, deviceID: login.deviceID as string, authToken: login.authToken as string }
  }, { needs })

  // Logs out the device that set_password.ok logged in with the new password (one login fewer: rate limits).
  await h.check('logout.ok', async () => {
    const revoked = h.awaitEvent(a5!.client, 'profile:session_revoked')
    const reply = await h.call(a5!.client, 'profile:logout', {})
    expectEqual(expectOk(reply, 'profile:logout'), {}, 'payload')
    const event = (await revoked) ?? fail('no profile:session_revoked event on the logged-out connection')
    expectEqual(event.payload, { deviceID: a5!.deviceID, reason: 'logout' }, 'session_revoked payload')
    expect(reply.to === undefined, `the reply to logout is sent unauthenticated (no "to"), got ${show(reply.to)}`)
    expectError(await h.call(a5!.client, 'device:list'), 'auth_required')
    expectError(await h.call(a5!.client, 'profile:auth', { authToken: a5!.authToken }), 'invalid_token')
    expectOk(await h.call(s.account!.main, 'device:list'), 'device:list')
  }, { needs: ['set_password.ok'] })
}
