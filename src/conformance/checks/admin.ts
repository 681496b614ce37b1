// Deactivation: leaves a disabled account that only an administrator can re-enable, hence its own skippable group.
import { expect, expectEqual, expectError, expectOk, fail, show } from '../expect.ts'
import type { Suite } from '../suite.ts'

export async function adminGroup(s: Suite): Promise<void> {
  const { h } = s
  const needs = ['register.ok']

  await h.check('deactivate.sudo_required', async () => {
    expectError(await h.call(s.account!.main, 'profile:deactivate', {}), 'sudo_required')
  }, { needs })

  await h.check('deactivate.ok', async () => {
    const { main, password, mainDevice } = s.account!
    const sudo = expectOk(await h.call(main, 'profile:sudo', { password }), 'profile:sudo')
    const revoked = h.awaitEvent(main, 'profile:session_revoked')
    const reply = await h.call(main, 'profile:deactivate', { sudoToken: sudo.sudoToken })
    expectEqual(expectOk(reply, 'profile:deactivate'), {}, 'payload')
    const event = (await revoked) ?? fail('no profile:session_revoked event on the deactivating connection')
    expectEqual(event.payload, { deviceID: mainDevice, reason: 'deactivated' }, 'session_revoked payload')
    expect(reply.to === undefined, `the reply is sent unauthenticated (no "to"), got ${show(reply.to)}`)
  }, { needs })

  await h.check('deactivate.user_disabled', async () => {
    const client = await h.connect()
    expectError(await h.call(client, 'profile:login', { username: s.account!.username, password: s.account!.password }), 'user_disabled')
  }, { needs: ['deactivate.ok'] })

  await h.check('deactivate.name_reserved', async () => {
    const reply = await h.call(s.account!.main, 'profile:check_username', { username: s.account!.username })
    expectEqual(expectOk(reply, 'profile:check_username'), { available: false }, 'payload')
  }, { needs: ['deactivate.ok'] })
}
