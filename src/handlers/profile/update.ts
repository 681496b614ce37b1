/**
 * profile:update — merge claims into the caller's profile; null removes a field. Answers the updated own profile.
 * - the schema admits only writable claims: userID, username, createdAt, role, `__proto__` … are invalid_payload
 * - birthdate must be a real calendar date (format "date")
 * - the read, merge and write are one store transaction (two updates cannot lose each other's fields),
 *   which also checks that this device still exists: revoked while in flight → auth_required
 */
import { asSession } from '../../accounts/credentials.ts'
import { toProfile } from '../../accounts/profile-view.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:update',
  auth: 'required',
  async handle(ctx) {
    const { payload, store, clock } = ctx
    const session = ctx.conn.session!
    await asSession(ctx, session, () => store.accounts.mergeProfile(session.accountID, session.deviceID, payload, clock.now()))
    const updated = await store.accounts.byID(session.accountID)
    if (!updated) throw new ProtocolError('not_found')
    return toProfile(updated, { owner: true })
  },
})
