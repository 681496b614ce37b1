// Profiles: the owner's view, updates, read-only fields, and what other users see (the *_public flags).
import { expect, expectEqual, expectError, expectOk, show } from '../expect.ts'
import { randomName } from '../harness.ts'
import type { Suite } from '../suite.ts'

const privateFields = ['misc', 'gender', 'email', 'email_public', 'phone_number_public', 'address_public', 'gender_public', 'birthdate_public']

export async function profileGroup(s: Suite): Promise<void> {
  const { h } = s
  const needs = ['register.ok']
  const anon = await h.connect()

  await h.check('profile.get.own', async () => {
    const { main, userID, username, email } = s.account!
    const profile = expectOk(await h.call(main, 'profile:get'), 'profile:get')
    expectEqual({ userID: profile.userID, username: profile.username, email: profile.email }, { userID, username, email }, 'own profile')
    expect(Number.isInteger(profile.createdAt), `createdAt must be a timestamp in ms, got ${show(profile.createdAt)}`)
  }, { needs })

  await h.check('profile.get.auth_required', async () => {
    expectError(await h.call(anon, 'profile:get'), 'auth_required')
  })

  await h.check('profile.update', async () => {
    const claims = {
      name: 'Conformance Tester',
      nickname: 'conformance',
      gender: 'unspecified',
      birthdate: '2000-02-29',
      misc: { suite: 'conformance' },
      email_public: false,
      gender_public: false,
    }
    const profile = expectOk(await h.call(s.account!.main, 'profile:update', claims), 'profile:update')
    for (const [key, value] of Object.entries(claims)) expectEqual(profile[key], value, key)
    expectEqual(profile.userID, s.account!.userID, 'userID')
  }, { needs })

  await h.check('profile.update.read_only', async () => {
    expectError(await h.call(s.account!.main, 'profile:update', { username: `cf-${randomName(8)}` }), 'invalid_payload')
    expectError(await h.call(s.account!.main, 'profile:update', { userID: `@cf-${randomName(8)}@${h.domain}` }), 'invalid_payload')
  }, { needs })

  await h.check('profile.public_view', async () => {
    const profile = expectOk(await h.call(anon, 'profile:get', { userID: s.account!.userID }), 'profile:get')
    expectEqual({ userID: profile.userID, name: profile.name, nickname: profile.nickname }, { userID: s.account!.userID, name: 'Conformance Tester', nickname: 'conformance' }, 'public fields')
    const leaked = privateFields.filter((field) => field in profile)
    expect(leaked.length === 0, `another user must not see ${leaked.join(', ')}`)
  }, { needs: ['profile.update'] })

  await h.check('profile.public_flag', async () => {
    expectOk(await h.call(s.account!.main, 'profile:update', { email_public: true }), 'profile:update')
    const profile = expectOk(await h.call(anon, 'profile:get', { userID: s.account!.userID }), 'profile:get')
    expectEqual(profile.email, s.account!.email, 'email once email_public is true')
    expect(!('email_public' in profile), 'another user must not see the *_public flags')
  }, { needs: ['profile.update'] })

  await h.check('profile.get.not_found', async () => {
    expectError(await h.call(anon, 'profile:get', { userID: `@cf-${randomName(12)}@${h.domain}` }), 'not_found')
  })
}
