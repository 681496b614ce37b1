// Device authorization (contract §14): a waiting connection signed in live by an approval, a denial, codes that work once.
import type { HafniumClient } from '../../client/index.ts'
import { expect, expectEqual, expectError, expectMatch, expectOk, fail, patterns, show } from '../expect.ts'
import type { Suite } from '../suite.ts'

const userCodePattern = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/

export async function deviceAuthorizationGroup(s: Suite): Promise<void> {
  const { h } = s
  // Skipped with a reason, never silently, when the server has the feature off or does not know it.
  const off = s.info?.features?.deviceAuthorization === false
    ? 'the server has device authorization off (server:info features.deviceAuthorization false)'
    : s.info && !s.info.types.includes('device:authorize_request')
      ? 'the server does not list device:authorize_request in server:info types'
      : undefined
  const needs = ['register.ok']
  let used: string | undefined

  const requestCode = async (): Promise<{ client: HafniumClient; userCode: string; deviceCode: string }> => {
    const client = await h.connect()
    const payload = expectOk(await h.call(client, 'device:authorize_request', { deviceName: 'conformance TV' }), 'device:authorize_request')
    expectMatch(payload.userCode, userCodePattern, 'userCode')
    expect(typeof payload.deviceCode === 'string' && payload.deviceCode.length >= 20, `deviceCode must be a long random string, got ${show(payload.deviceCode)}`)
    expect(Number.isInteger(payload.expiresIn) && (payload.expiresIn as number) > 0, `expiresIn must be a positive integer, got ${show(payload.expiresIn)}`)
    expect(Number.isInteger(payload.interval) && (payload.interval as number) > 0, `interval must be a positive integer, got ${show(payload.interval)}`)
    return { client, userCode: payload.userCode as string, deviceCode: payload.deviceCode as string }
  }

  await h.check('device_authorization.approve', async () => {
    if (off) return { skip: off }
    const { main, userID } = s.account!
    const tv = await requestCode()
    const authorized = h.awaitEvent(tv.client, 'device:authorized')
    const approved = expectOk(await h.call(main, 'device:authorize_approve', { userCode: tv.userCode.toLowerCase() }), 'device:authorize_approve')
    expectEqual(approved.deviceName, 'conformance TV', 'deviceName in the approval')
    const event = ((await authorized) ?? fail('no device:authorized event on the waiting connection')).payload
    expectMatch(event.authToken, patterns.authToken, 'authToken')
    expectEqual({ deviceID: event.deviceID, userID: event.userID }, { deviceID: approved.deviceID, userID }, 'device:authorized payload')
    const again = await h.connect()
    expectEqual(expectOk(await h.call(again, 'profile:auth', { authToken: event.authToken }), 'profile:auth').deviceID, approved.deviceID, 'profile:auth with the new token')
    used = tv.userCode
  }, { needs })

  await h.check('device_authorization.used_code', async () => {
    if (off) return { skip: off }
    expectError(await h.call(s.account!.main, 'device:authorize_approve', { userCode: used! }), 'invalid_code')
  }, { needs: ['device_authorization.approve'] })

  await h.check('device_authorization.poll_pending', async () => {
    if (off) return { skip: off }
    const tv = await requestCode()
    expectError(await h.call(await h.connect(), 'device:authorize_poll', { deviceCode: tv.deviceCode }), 'authorization_pending')
    const denied = h.awaitEvent(tv.client, 'device:authorize_denied')
    expectEqual(expectOk(await h.call(s.account!.main, 'device:authorize_deny', { userCode: tv.userCode }), 'device:authorize_deny'), {}, 'payload')
    ;(await denied) ?? fail('no device:authorize_denied event on the waiting connection')
  }, { needs })
}
