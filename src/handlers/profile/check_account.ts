/**
 * profile:check_account — does an account answer to this loginID (username, email or phone number)?
 * - accountType says which kind of identifier loginID is (as profile:login would read it); absent
 *   when loginID is not a valid identifier of any kind, which can never exist
 * - hasPassword only when the account exists; accounts of every status count as existing
 * - privacy.revealAccounts false: always {exists: false, accountType} (the lookup still runs, so the
 *   reply takes as long either way)
 */
import { findByLoginKey, loginKey } from '../../accounts/lookup.ts'
import { defineHandler } from '../../handler.ts'

const accountTypes = { u: 'username', email: 'email', msisdn: 'msisdn' } as const

export default defineHandler({
  type: 'profile:check_account',
  auth: 'none',
  async handle({ payload, store, config }) {
    const key = loginKey({ loginID: payload.loginID })
    if (key === null) return { exists: false }
    const accountType = accountTypes[key.slice(0, key.indexOf(':')) as keyof typeof accountTypes]
    const account = await findByLoginKey(store.accounts, key)
    if (!account || !config.privacy.revealAccounts) return { exists: false, accountType }
    return { exists: true, accountType, hasPassword: account.passwordHash !== null }
  },
})
