/**
 * profile:check_username — is this username free to register?
 * - available: false while any account holds the name, disabled ones included (names stay reserved)
 * - the name is case-folded first; one that is not a valid username is invalid_payload
 */
import { invalidField } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'
import { normaliseUsername } from '../../identifiers.ts'

export default defineHandler({
  type: 'profile:check_username',
  auth: 'none',
  async handle({ payload, store }) {
    const username = normaliseUsername(payload.username)
    if (username === null) throw invalidField('/payload/username', 'is not a valid username')
    return { available: !(await store.accounts.usernameTaken(username)) }
  },
})
