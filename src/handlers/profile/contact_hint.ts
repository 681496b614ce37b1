/**
 * profile:contact_hint — the blurred email and phone number of the account with this username,
 * so a user can tell where a code would go (`ju*****@*****.com`, `*********90`); null where none is bound.
 * - not_found for an unknown username or a disabled account; with privacy.revealAccounts false these
 *   answer {email: null, msisdn: null} instead, like an account with no 3PID
 */
import { ProtocolError, invalidField } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'
import { blurEmail, blurMsisdn, normaliseUsername } from '../../identifiers.ts'

export default defineHandler({
  type: 'profile:contact_hint',
  auth: 'none',
  async handle({ payload, store, config }) {
    const username = normaliseUsername(payload.username)
    if (username === null) throw invalidField('/payload/username', 'is not a valid username')
    const account = await store.accounts.byUsername(username)
    // A pending account still needs to know where its confirmation code went; a disabled one has no use for it.
    if (!account || account.status === 'disabled') {
      if (!config.privacy.revealAccounts) return { email: null, msisdn: null }
      throw new ProtocolError('not_found')
    }
    const email = account.thirdPIDs.find((t) => t.type === 'email')
    const msisdn = account.thirdPIDs.find((t) => t.type === 'msisdn')
    return { email: email ? blurEmail(email.value) : null, msisdn: msisdn ? blurMsisdn(msisdn.value) : null }
  },
})
